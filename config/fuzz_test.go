package config

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hadcluster/had/comm/wire"
	"github.com/pelletier/go-toml/v2"
)

// FuzzParse: Parse never panics; it returns a Config or Errors, never both;
// every error names the file and a line inside it, and only a key that is
// not written in the document (a missing one) may have no line; errors
// come in line order; and a Config that parses re-encodes to a document
// that parses to the same Config.
func FuzzParse(f *testing.F) {
	const name = "/etc/had/had.toml" // absolute, so resolved paths are fixed points
	f.Add(doc(nil, ""))
	f.Add(doc(map[string]string{"mode": `"symmetric"`, "primary": "-", "takeover_table": `"t"`}, baseTables+serials(2)+"[fence]\ncommand = \"x\"\nrequired = true\n"))
	f.Add("udp = [{local = \"[::]:1\", peer = \"[fe80::1%eth0]:1\", bogus = 1}]\n[timers]\ninterval = \"1s\"\n")
	f.Add("cluster_id = 0\n[[udp]]\n[[udp.x]]\n[udp]\n")
	f.Add("a.b.c = 1\n[a]\nb = 2\n")
	f.Add(doc(everyAgentTop, baseTables+everyAgent))
	f.Add(doc(map[string]string{"agents_dir": `"agents.d"`}, baseTables+"[[agent]]\nname = \"x\"\nkind = \"daemon\"\n[[agent]]\nname = \"x\"\nkind = \"cpu\"\nwarning_percent = 95.5\nerror_percent = 0\n"))
	for _, n := range []string{"node1.toml", "node2.toml"} {
		if data, err := os.ReadFile(filepath.Join("..", "deploy", "examples", n)); err == nil {
			f.Add(string(data))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		data := []byte(src)
		cfg, err := Parse(name, data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("got Config %v and error %v, want exactly one", cfg != nil, err)
		}
		if err != nil {
			checkErrors(t, name, data, err, func(field string) bool {
				lines, serr := scanKeys(data)
				return serr == nil && field != "" && !lines.has(field)
			})
			return
		}
		again, err := Parse(name, encode(t, cfg))
		if err != nil {
			t.Fatalf("re-encoded Config does not parse: %v\n%s", err, encode(t, cfg))
		}
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("round trip: got\n%+v\nwant\n%+v", again, cfg)
		}
	})
}

// FuzzKeyfile: ParseKeyring never panics; it returns a keyring or Errors;
// errors name the file and a line inside it, and only a problem of the
// whole file (no keys, no active line) has none; a keyring it returns
// is usable (the active key is in it, every key is long enough) and
// re-encodes to itself.
func FuzzKeyfile(f *testing.F) {
	const name = "/etc/had/authkeys"
	f.Add("active 1\nkey 1 " + secret16 + "\n")
	f.Add("# c\n\r\nactive 2\r\nkey 2 " + secretHx + "\r\nkey 3 " + secretB6 + "\n")
	f.Add("active 0\nkey 256 x\nkey 1 hex:zz\nkey 1 base64:===\nbogus\nactive\n")
	if data, err := os.ReadFile(filepath.Join("..", "deploy", "examples", "authkeys.example")); err == nil {
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, src string) {
		data := []byte(src)
		kr, err := ParseKeyring(name, data)
		if (kr == nil) == (err == nil) {
			t.Fatalf("got keyring %v and error %v, want exactly one", kr != nil, err)
		}
		if err != nil {
			checkErrors(t, name, data, err, func(field string) bool { return field == "key" || field == "active" })
			return
		}
		if _, ok := kr.Keys[kr.Active]; !ok {
			t.Fatalf("active key %d is not in the keyring", kr.Active)
		}
		if _, ok := kr.Keys[0]; ok {
			t.Fatalf("key id 0 accepted")
		}
		for id, k := range kr.Keys {
			if len(k) < wire.MinKeyLen {
				t.Fatalf("key %d is %d bytes", id, len(k))
			}
		}
		if _, err := wire.NewCodec(kr); err != nil {
			t.Fatalf("wire.NewCodec: %v", err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "active %d\n", kr.Active)
		for id, k := range kr.Keys {
			fmt.Fprintf(&b, "key %d hex:%s\n", id, hex.EncodeToString(k))
		}
		again, err := ParseKeyring(name, []byte(b.String()))
		if err != nil || !reflect.DeepEqual(again, kr) {
			t.Fatalf("round trip: got %+v, %v; want %+v", again, err, kr)
		}
	})
}

// checkErrors checks the shape every error of a file must have.
// lineless says which fields may have no line.
func checkErrors(t *testing.T, name string, data []byte, err error, lineless func(field string) bool) {
	t.Helper()
	es, ok := err.(Errors)
	if !ok || len(es) == 0 {
		t.Fatalf("got %T %v, want non-empty Errors", err, err)
	}
	lines := strings.Count(string(data), "\n") + 1
	for _, e := range es {
		if e.File != name {
			t.Fatalf("got file %q, want %q: %v", e.File, name, e)
		}
		if e.Line < 0 || e.Line > lines {
			t.Fatalf("got line %d, want 1 to %d: %v", e.Line, lines, e)
		}
		if e.Line == 0 && !lineless(e.Field) {
			t.Fatalf("got no line for field %q, want one: %v", e.Field, e)
		}
		if e.Msg == "" {
			t.Fatalf("got an empty message: %+v", e)
		}
	}
	if !sort.SliceIsSorted(es, func(i, j int) bool { return es[i].Line < es[j].Line }) {
		t.Fatalf("errors not in line order:\n%v", err)
	}
}

// encode renders cfg as TOML, the inverse of Parse for a valid Config.
func encode(t *testing.T, c *Config) []byte {
	t.Helper()
	m := map[string]any{
		"cluster_id": int64(c.ClusterID),
		"node_id":    int64(c.NodeID),
		"node_name":  c.NodeName,
		"peer_name":  c.PeerName,
		"mode":       string(c.Mode),
		"failback":   string(c.Failback),
		"key_file":   c.KeyFile,
		"shm_path":   c.ShmPath,
		"state_dir":  c.StateDir,
		"log_level":  c.LogLevel,
		"timers": map[string]any{
			"interval":    c.Timers.Interval.String(),
			"warntime":    c.Timers.Warntime.String(),
			"deadtime":    c.Timers.Deadtime.String(),
			"initdead":    c.Timers.Initdead.String(),
			"ack_timeout": c.Timers.AckTimeout.String(),
			"retransmit":  c.Timers.Retransmit.String(),
		},
		"fence": map[string]any{
			"command":  c.Fence.Command,
			"timeout":  c.Fence.Timeout.String(),
			"required": c.Fence.Required,
		},
		"supervise": map[string]any{
			"liveness":       c.Supervise.Liveness.String(),
			"hang_timeout":   c.Supervise.HangTimeout.String(),
			"brain_grace":    c.Supervise.BrainGrace.String(),
			"max_restarts":   int64(c.Supervise.MaxRestarts),
			"restart_window": c.Supervise.RestartWindow.String(),
			"backoff_min":    c.Supervise.BackoffMin.String(),
			"backoff_max":    c.Supervise.BackoffMax.String(),
		},
		"realtime": map[string]any{
			"policy":      string(c.Realtime.Policy),
			"priority":    int64(c.Realtime.Priority),
			"lock_memory": string(c.Realtime.LockMemory),
			"processes":   c.Realtime.Processes,
		},
	}
	if c.Primary != 0 {
		m["primary"] = int64(c.Primary)
	}
	a := c.Admin
	admin := map[string]any{"socket": a.Socket, "group": a.Group, "web": a.Web, "metrics": a.Metrics, "history": a.History.String()}
	for k, v := range map[string]string{"listen": a.Listen, "token_file": a.TokenFile, "peer": a.Peer} {
		if v != "" {
			admin[k] = v
		}
	}
	m["admin"] = admin
	al := c.Alerts
	alerts := map[string]any{"min_level": al.MinLevel, "rate_limit": al.RateLimit.String(), "timeout": al.Timeout.String(),
		"beep": al.Beep, "command": al.Command}
	if al.Email.Server != "" {
		to := []any{}
		for _, t := range al.Email.To {
			to = append(to, t)
		}
		alerts["email"] = map[string]any{"server": al.Email.Server, "from": al.Email.From, "to": to}
	}
	sms := map[string]any{}
	if al.SMS.Command != "" {
		sms["command"] = al.SMS.Command
	}
	if al.SMS.URL != "" {
		sms["url"] = al.SMS.URL
	}
	alerts["sms"] = sms
	m["alerts"] = alerts
	for k, v := range map[string]string{"recover_table": c.RecoverTable, "takeover_table": c.TakeoverTable, "bin_dir": c.BinDir} {
		if v != "" {
			m[k] = v
		}
	}
	var udp, serial []map[string]any
	for _, u := range c.UDP {
		e := map[string]any{"name": u.Name, "local": u.Local.String(), "peer": u.Peer.String()}
		if u.Interface != "" {
			e["interface"] = u.Interface
		}
		udp = append(udp, e)
	}
	for _, s := range c.Serial {
		serial = append(serial, map[string]any{"name": s.Name, "device": s.Device, "baud": int64(s.Baud)})
	}
	if udp != nil {
		m["udp"] = udp
	}
	if serial != nil {
		m["serial"] = serial
	}
	if c.AgentsDir != "" {
		m["agents_dir"] = c.AgentsDir
	}
	var agents []map[string]any
	for _, a := range c.Agents {
		agents = append(agents, encodeAgent(a))
	}
	if agents != nil {
		m["agent"] = agents
	}
	out, err := toml.Marshal(m)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return out
}

// encodeAgent renders one agent with every key its kind takes.
func encodeAgent(a Agent) map[string]any {
	e := map[string]any{"name": a.Name, "kind": string(a.Kind), "critical": a.Critical, "scope": string(a.Scope),
		"interval": a.Interval.String(), "fall": int64(a.Fall), "rise": int64(a.Rise)}
	if a.Kind != KindDaemon {
		e["timeout"] = a.Timeout.String()
	}
	switch a.Kind {
	case KindProcess:
		if a.Process != "" {
			e["process"] = a.Process
		}
		if a.PIDFile != "" {
			e["pid_file"] = a.PIDFile
		}
	case KindHTTP:
		e["url"], e["method"], e["expect_status"], e["tls_skip_verify"] = a.URL, a.Method, int64(a.ExpectStatus), a.TLSSkipVerify
		if a.ExpectBody != "" {
			e["expect_body"] = a.ExpectBody
		}
	case KindTCP:
		e["address"] = a.Address
	case KindGateway:
		e["address"], e["count"] = a.Address, int64(a.Count)
	case KindLink:
		e["interface"] = a.Interface
	case KindCPU, KindMemory, KindDisk:
		e["warning_percent"], e["error_percent"] = a.WarnPercent, a.ErrorPercent
		if a.Kind == KindDisk {
			e["path"] = a.Path
		}
	case KindExec, KindDaemon:
		e["command"] = a.Command
	}
	return e
}
