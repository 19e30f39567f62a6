package config

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// The rule tests build a document from a small valid one: top-level keys in
// a fixed order, then the tables. A case overrides top-level keys (the
// value "-" deletes one) and may replace the tables. The line the error
// must name is the line marked with "# <-"; an unmarked case expects line 0.

const testFile = "/etc/had/had.toml"

var baseTop = []struct{ key, val string }{
	{"cluster_id", "42"},
	{"node_id", "1"},
	{"mode", `"asymmetric"`},
	{"primary", "1"},
	{"key_file", `"authkeys"`},
	{"recover_table", `"recover.table"`},
}

const baseTables = `[[udp]]
local = "10.213.0.1:6940"
peer = "10.213.0.2:6940"
`

// doc renders a document from overrides of the base top-level keys and,
// when tables is not empty, the tables to use instead of the base ones.
func doc(top map[string]string, tables string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, kv := range baseTop {
		seen[kv.key] = true
		v, ok := top[kv.key]
		if !ok {
			v = kv.val
		}
		if v != "-" {
			fmt.Fprintf(&b, "%s = %s\n", kv.key, v)
		}
	}
	var extra []string
	for k := range top {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		fmt.Fprintf(&b, "%s = %s\n", k, top[k])
	}
	switch tables {
	case "":
		b.WriteString(baseTables)
	case "none":
	default:
		b.WriteString(tables)
	}
	return b.String()
}

// markedLine returns the line holding "# <-", or 0.
func markedLine(s string) int {
	for i, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "# <-") {
			return i + 1
		}
	}
	return 0
}

func asErrors(t *testing.T, err error) Errors {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got error %T %v, want Errors", err, err)
	}
	return es
}

func TestRules(t *testing.T) {
	udp2 := func(extra string) string {
		return baseTables + "[[udp]]\n" + extra
	}
	cases := []struct {
		name   string
		top    map[string]string
		tables string
		field  string
		msg    string // a part of the message
	}{
		// TOML itself.
		{name: "syntax error", tables: "[timers]\ninterval = # <-\n", field: "", msg: "unexpected character"},
		{name: "unclosed table header", tables: "[timers # <-\n", field: "", msg: "']'"},
		{name: "key defined twice", tables: "[timers]\ninterval = \"50ms\"\ninterval = \"60ms\" # <-\n", field: "timers.interval", msg: "already defined"},
		{name: "value where a table belongs", top: map[string]string{"timers": "5 # <-"}, field: "timers", msg: "got an integer, want a table [timers]"},
		{name: "value where an array of tables belongs", top: map[string]string{"udp": `"10.213.0.2:6940" # <-`}, tables: "none", field: "udp", msg: "got a string, want an array of tables [[udp]]"},
		{name: "array of tables where a table belongs", tables: baseTables + "[[timers]] # <-\n", field: "timers", msg: "not an array of tables"},
		{name: "unknown top-level key", top: map[string]string{"colour": `"red" # <-`}, field: "colour", msg: "unknown key"},
		{name: "unknown key in a table", tables: baseTables + "[timers]\nbogus = 1 # <-\n", field: "timers.bogus", msg: "unknown key"},
		{name: "unknown key in the second udp path", tables: udp2("local = \"10.213.1.1:6940\"\npeer = \"10.213.1.2:6940\"\nbogus = 1 # <-\n"), field: "udp[1].bogus", msg: "unknown key"},
		{name: "unknown key in an inline table", tables: "udp = [{local = \"10.213.0.1:6940\", peer = \"10.213.0.2:6940\", bogus = 1}] # <-\n", field: "udp[0].bogus", msg: "unknown key"},
		{name: "unknown table", tables: baseTables + "[nope] # <-\n", field: "nope", msg: "unknown table"},

		// Identity.
		{name: "cluster_id missing", top: map[string]string{"cluster_id": "-"}, field: "cluster_id", msg: "required"},
		{name: "cluster_id zero", top: map[string]string{"cluster_id": "0 # <-"}, field: "cluster_id", msg: "out of range"},
		{name: "cluster_id too big", top: map[string]string{"cluster_id": "4294967296 # <-"}, field: "cluster_id", msg: "out of range"},
		{name: "cluster_id a string", top: map[string]string{"cluster_id": `"42" # <-`}, field: "cluster_id", msg: "want an integer, got a string"},
		{name: "node_id missing", top: map[string]string{"node_id": "-"}, field: "node_id", msg: "required"},
		{name: "node_id 3", top: map[string]string{"node_id": "3 # <-"}, field: "node_id", msg: "want 1 or 2"},
		{name: "node_id 0", top: map[string]string{"node_id": "0 # <-"}, field: "node_id", msg: "want 1 or 2"},
		{name: "node_name empty", top: map[string]string{"node_name": `"" # <-`}, field: "node_name", msg: "1 to 64"},
		{name: "node_name with a space", top: map[string]string{"node_name": `"al pha" # <-`}, field: "node_name", msg: "no spaces"},
		{name: "peer_name too long", top: map[string]string{"peer_name": `"` + strings.Repeat("b", 65) + `" # <-`}, field: "peer_name", msg: "1 to 64"},
		{name: "names equal", top: map[string]string{"node_name": `"x"`, "peer_name": `"x" # <-`}, field: "peer_name", msg: "both"},
		{name: "name equal to the default peer name", top: map[string]string{"node_name": `"node2" # <-`}, field: "node_name", msg: "both"},

		// Mode, primary, failback.
		{name: "mode missing", top: map[string]string{"mode": "-"}, field: "mode", msg: "required"},
		{name: "mode unknown", top: map[string]string{"mode": `"active-passive" # <-`}, field: "mode", msg: "not one of"},
		{name: "primary missing when asymmetric", top: map[string]string{"primary": "-"}, field: "primary", msg: "required in asymmetric mode"},
		{name: "primary 3", top: map[string]string{"primary": "3 # <-"}, field: "primary", msg: "want 1 or 2"},
		{name: "primary set when symmetric", top: map[string]string{"mode": `"symmetric"`, "primary": "1 # <-", "takeover_table": `"t"`}, field: "primary", msg: "symmetric"},
		{name: "failback unknown", top: map[string]string{"failback": `"sometimes" # <-`}, field: "failback", msg: "not one of"},

		// Files.
		{name: "key_file missing", top: map[string]string{"key_file": "-"}, field: "key_file", msg: "required"},
		{name: "key_file empty", top: map[string]string{"key_file": `"" # <-`}, field: "key_file", msg: "empty"},
		{name: "recover_table missing on the primary", top: map[string]string{"recover_table": "-"}, field: "recover_table", msg: "this node owns a group"},
		{name: "recover_table on the backup", top: map[string]string{"node_id": "2", "recover_table": `"r" # <-`, "takeover_table": `"t"`}, field: "recover_table", msg: "owns no group"},
		{name: "takeover_table missing on the backup", top: map[string]string{"node_id": "2", "recover_table": "-"}, field: "takeover_table", msg: "the peer owns a group"},
		{name: "takeover_table on the primary", top: map[string]string{"takeover_table": `"t" # <-`}, field: "takeover_table", msg: "peer owns no group"},
		{name: "takeover_table missing when symmetric", top: map[string]string{"mode": `"symmetric"`, "primary": "-"}, field: "takeover_table", msg: "symmetric"},
		{name: "recover_table missing when symmetric", top: map[string]string{"mode": `"symmetric"`, "primary": "-", "recover_table": "-", "takeover_table": `"t"`}, field: "recover_table", msg: "symmetric"},
		{name: "shm_path empty", top: map[string]string{"shm_path": `"" # <-`}, field: "shm_path", msg: "empty"},
		{name: "state_dir not a string", top: map[string]string{"state_dir": "true # <-"}, field: "state_dir", msg: "got a boolean"},
		{name: "log_level unknown", top: map[string]string{"log_level": `"verbose" # <-`}, field: "log_level", msg: "not one of"},

		// Timers.
		{name: "interval zero", tables: baseTables + "[timers]\ninterval = \"0s\" # <-\n", field: "timers.interval", msg: "out of range"},
		{name: "interval negative", tables: baseTables + "[timers]\ninterval = \"-50ms\" # <-\n", field: "timers.interval", msg: "out of range"},
		{name: "interval not a duration", tables: baseTables + "[timers]\ninterval = \"fast\" # <-\n", field: "timers.interval", msg: "not a duration"},
		{name: "interval a number", tables: baseTables + "[timers]\ninterval = 50 # <-\n", field: "timers.interval", msg: "want a string, got an integer"},
		{name: "interval over a day", tables: baseTables + "[timers]\ninterval = \"25h\" # <-\n", field: "timers.interval", msg: "out of range"},
		{name: "deadtime under 3 intervals", tables: baseTables + "[timers]\ninterval = \"50ms\"\nwarntime = \"100ms\"\ndeadtime = \"149ms\" # <-\n", field: "timers.deadtime", msg: "at least 3 × interval"},
		{name: "interval over a third of the default deadtime", tables: baseTables + "[timers]\ninterval = \"117ms\" # <-\nwarntime = \"200ms\"\n", field: "timers.interval", msg: "at least 3 × interval"},
		{name: "warntime not after interval", tables: baseTables + "[timers]\nwarntime = \"50ms\" # <-\n", field: "timers.warntime", msg: "longer than interval"},
		{name: "warntime not before deadtime", tables: baseTables + "[timers]\nwarntime = \"350ms\" # <-\n", field: "timers.warntime", msg: "shorter than deadtime"},
		{name: "initdead under deadtime", tables: baseTables + "[timers]\ninitdead = \"200ms\" # <-\n", field: "timers.initdead", msg: "at least deadtime"},
		{name: "ack_timeout zero", tables: baseTables + "[timers]\nack_timeout = \"0ms\" # <-\n", field: "timers.ack_timeout", msg: "out of range"},
		{name: "retransmit zero", tables: baseTables + "[timers]\nretransmit = \"0s\" # <-\n", field: "timers.retransmit", msg: "out of range"},
		{name: "retransmit not under ack_timeout", tables: baseTables + "[timers]\nretransmit = \"100ms\" # <-\n", field: "timers.retransmit", msg: "shorter than ack_timeout"},
		{name: "ack_timeout under the default retransmit", tables: baseTables + "[timers]\nack_timeout = \"20ms\" # <-\n", field: "timers.ack_timeout", msg: "shorter than ack_timeout"},

		// Paths.
		{name: "no path", tables: "none", field: "udp", msg: "no heartbeat path"},
		{name: "empty udp array", tables: "udp = [] # <-\n", field: "udp", msg: "no heartbeat path"},
		{name: "nine paths", tables: baseTables + serials(7) + "[[serial]] # <-\ndevice = \"/dev/ttyS9\"\n", field: "serial[7]", msg: "at most 8"},
		{name: "udp local missing", tables: "[[udp]] # <-\npeer = \"10.213.0.2:6940\"\n", field: "udp[0].local", msg: "required"},
		{name: "udp peer missing", tables: "[[udp]] # <-\nlocal = \"10.213.0.1:6940\"\n", field: "udp[0].peer", msg: "required"},
		{name: "udp local without a port", tables: "[[udp]]\nlocal = \"10.213.0.1\" # <-\npeer = \"10.213.0.2:6940\"\n", field: "udp[0].local", msg: "not ip:port"},
		{name: "udp local a host name", tables: "[[udp]]\nlocal = \"alpha:6940\" # <-\npeer = \"10.213.0.2:6940\"\n", field: "udp[0].local", msg: "not ip:port"},
		{name: "udp peer port 0", tables: "[[udp]]\nlocal = \"10.213.0.1:6940\"\npeer = \"10.213.0.2:0\" # <-\n", field: "udp[0].peer", msg: "port 0"},
		{name: "udp local port 0", tables: "[[udp]]\nlocal = \"0.0.0.0:0\" # <-\npeer = \"10.213.0.2:6940\"\n", field: "udp[0].local", msg: "port 0"},
		{name: "udp peer unspecified", tables: "[[udp]]\nlocal = \"10.213.0.1:6940\"\npeer = \"0.0.0.0:6940\" # <-\n", field: "udp[0].peer", msg: "unspecified"},
		{name: "udp families differ", tables: "[[udp]]\nlocal = \"10.213.0.1:6940\"\npeer = \"[2001:db8::2]:6940\" # <-\n", field: "udp[0].peer", msg: "address families"},
		{name: "udp peer is local", tables: "[[udp]]\nlocal = \"10.213.0.1:6940\"\npeer = \"10.213.0.1:6940\" # <-\n", field: "udp[0].peer", msg: "own local address"},
		{name: "udp local twice", tables: udp2("local = \"10.213.0.1:6940\" # <-\npeer = \"10.213.1.2:6940\"\n"), field: "udp[1].local", msg: "already bound by udp[0]"},
		{name: "udp peer twice", tables: udp2("local = \"10.213.1.1:6940\"\npeer = \"10.213.0.2:6940\" # <-\n"), field: "udp[1].peer", msg: "already the peer of udp[0]"},
		{name: "udp interface too long", tables: "[[udp]]\nlocal = \"10.213.0.1:6940\"\npeer = \"10.213.0.2:6940\"\ninterface = \"a-very-long-ifname\" # <-\n", field: "udp[0].interface", msg: "not an interface name"},
		{name: "path names twice", tables: "[[udp]]\nname = \"hb\"\nlocal = \"10.213.0.1:6940\"\npeer = \"10.213.0.2:6940\"\n[[serial]]\nname = \"hb\" # <-\ndevice = \"/dev/ttyS0\"\n", field: "serial[0].name", msg: "already used by udp[0]"},
		{name: "path name clashes with a default one", tables: "[[udp]]\nname = \"udp1\"\nlocal = \"10.213.0.1:6940\"\npeer = \"10.213.0.2:6940\"\n[[udp]] # <-\nlocal = \"10.213.1.1:6940\"\npeer = \"10.213.1.2:6940\"\n", field: "udp[1].name", msg: "already used by udp[0]"},
		{name: "path name with a space", tables: "[[udp]]\nname = \"lan 1\" # <-\nlocal = \"10.213.0.1:6940\"\npeer = \"10.213.0.2:6940\"\n", field: "udp[0].name", msg: "no spaces"},
		{name: "serial device missing", tables: "[[serial]] # <-\nbaud = 19200\n", field: "serial[0].device", msg: "required"},
		{name: "serial device empty", tables: "[[serial]]\ndevice = \"\" # <-\n", field: "serial[0].device", msg: "empty"},
		{name: "serial baud unsupported", tables: "[[serial]]\ndevice = \"/dev/ttyS0\"\nbaud = 12345 # <-\n", field: "serial[0].baud", msg: "not a supported speed"},
		{name: "serial device twice", tables: "[[serial]]\ndevice = \"/dev/ttyS0\"\n[[serial]]\ndevice = \"/dev/ttyS0\" # <-\n", field: "serial[1].device", msg: "already used by serial[0]"},

		// Fence.
		{name: "fence required without a command", tables: baseTables + "[fence]\nrequired = true # <-\n", field: "fence.required", msg: "not set"},
		{name: "admin listen without a token", tables: baseTables + "[admin]\nlisten = \"10.213.0.1:8443\" # <-\n", field: "admin.listen", msg: "token_file"},
		{name: "admin listen not host:port", tables: baseTables + "[admin]\nlisten = \"everywhere\" # <-\n", field: "admin.listen", msg: "not host:port"},
		{name: "web without listen", tables: baseTables + "[admin]\nweb = true # <-\n", field: "admin.web", msg: "not set"},
		{name: "peer without a token", tables: baseTables + "[admin]\npeer = \"10.213.0.2:8443\" # <-\n", field: "admin.peer", msg: "token_file"},
		{name: "alert level", tables: baseTables + "[alerts]\nmin_level = \"loud\" # <-\n", field: "alerts.min_level", msg: "not one of"},
		{name: "email without recipients", tables: baseTables + "[alerts.email]\nserver = \"127.0.0.1:25\" # <-\nfrom = \"had@a\"\n", field: "alerts.email.server", msg: "missing [to]"},
		{name: "email bad recipient", tables: baseTables + "[alerts.email]\nserver = \"127.0.0.1:25\"\nfrom = \"had@a\"\nto = [\"not an address\"] # <-\n", field: "alerts.email.to", msg: "not an email address"},
		{name: "sms url and command", tables: baseTables + "[alerts.sms]\ncommand = \"x\"\nurl = \"http://h/sms\" # <-\n", field: "alerts.sms.url", msg: "not both"},
		{name: "sms url scheme", tables: baseTables + "[alerts.sms]\nurl = \"ftp://h/sms\" # <-\n", field: "alerts.sms.url", msg: "not an http"},
		{name: "fence timeout zero", tables: baseTables + "[fence]\ncommand = \"true\"\ntimeout = \"0s\" # <-\n", field: "fence.timeout", msg: "out of range"},
		{name: "fence required not a bool", tables: baseTables + "[fence]\nrequired = \"yes\" # <-\n", field: "fence.required", msg: "want true or false"},

		// Supervision.
		{name: "liveness zero", tables: baseTables + "[supervise]\nliveness = \"0s\" # <-\n", field: "supervise.liveness", msg: "out of range"},
		{name: "max_restarts zero", tables: baseTables + "[supervise]\nmax_restarts = 0 # <-\n", field: "supervise.max_restarts", msg: "out of range"},
		{name: "restart_window zero", tables: baseTables + "[supervise]\nrestart_window = \"0s\" # <-\n", field: "supervise.restart_window", msg: "out of range"},
		{name: "hang_timeout not over liveness", tables: baseTables + "[supervise]\nhang_timeout = \"100ms\" # <-\n", field: "supervise.hang_timeout", msg: "longer than liveness"},
		{name: "brain_grace not over hang_timeout", tables: baseTables + "[supervise]\nbrain_grace = \"1.5s\" # <-\n", field: "supervise.brain_grace", msg: "longer than hang_timeout"},
		{name: "backoff_min over backoff_max", tables: baseTables + "[supervise]\nbackoff_min = \"3s\" # <-\nbackoff_max = \"2s\"\n", field: "supervise.backoff_min", msg: "must not exceed"},
		{name: "backoff_max not under restart_window", tables: baseTables + "[supervise]\nbackoff_max = \"60s\" # <-\n", field: "supervise.backoff_max", msg: "shorter than restart_window"},
		{name: "realtime policy unknown", tables: baseTables + "[realtime]\npolicy = \"batch\" # <-\n", field: "realtime.policy", msg: "is not one of"},
		{name: "realtime priority zero", tables: baseTables + "[realtime]\npriority = 0 # <-\n", field: "realtime.priority", msg: "out of range"},
		{name: "realtime priority over 99", tables: baseTables + "[realtime]\npriority = 100 # <-\n", field: "realtime.priority", msg: "out of range"},
		{name: "realtime priority a string", tables: baseTables + "[realtime]\npriority = \"high\" # <-\n", field: "realtime.priority", msg: "want an integer"},
		{name: "lock_memory unknown", tables: baseTables + "[realtime]\nlock_memory = \"yes\" # <-\n", field: "realtime.lock_memory", msg: "is not one of"},
		{name: "realtime processes not a list", tables: baseTables + "[realtime]\nprocesses = \"had2\" # <-\n", field: "realtime.processes", msg: "want a list"},
		{name: "realtime process unknown", tables: baseTables + "[realtime]\nprocesses = [\"had2\", \"agent\"] # <-\n", field: "realtime.processes", msg: "entry 2 (agent) is not one of"},
		{name: "realtime process twice", tables: baseTables + "[realtime]\nprocesses = [\"sender\", \"sender\"] # <-\n", field: "realtime.processes", msg: "listed twice"},
		{name: "realtime key unknown", tables: baseTables + "[realtime]\nnice = -5 # <-\n", field: "realtime.nice", msg: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := doc(tc.top, tc.tables)
			cfg, err := Parse(testFile, []byte(src))
			if err == nil {
				t.Fatalf("got no error, want one on %s\n%s", tc.field, src)
			}
			if cfg != nil {
				t.Errorf("got a Config with an error, want nil")
			}
			es := asErrors(t, err)
			if len(es) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v\n--- document:\n%s", len(es), err, src)
			}
			e, want := es[0], markedLine(src)
			if e.File != testFile || e.Line != want || e.Field != tc.field {
				t.Errorf("got %s:%d field %q, want %s:%d field %q (%v)", e.File, e.Line, e.Field, testFile, want, tc.field, e)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got message %q, want it to contain %q", e.Msg, tc.msg)
			}
		})
	}
}

func TestBaseDocumentIsValid(t *testing.T) {
	if _, err := Parse(testFile, []byte(doc(nil, ""))); err != nil {
		t.Fatalf("got %v, want no error", err)
	}
}

func TestEveryErrorInLineOrder(t *testing.T) {
	src := `cluster_id = 0
node_id = 1
mode = "asymmetric"
primary = 1
colour = "red"
recover_table = "recover.table"
[timers]
interval = "100ms"
deadtime = "250ms"
[[udp]]
local = "10.213.0.1:6940"
[[serial]]
device = "/dev/ttyS0"
baud = 1
[supervise]
hang_timeout = "50ms"
`
	_, err := Parse(testFile, []byte(src))
	es := asErrors(t, err)
	type want struct {
		line  int
		field string
	}
	wants := []want{
		{0, "key_file"},
		{1, "cluster_id"},
		{5, "colour"},
		{9, "timers.deadtime"},
		{10, "udp[0].peer"}, // not written: the line of its [[udp]]
		{14, "serial[0].baud"},
		{16, "supervise.hang_timeout"},
	}
	var got []want
	for _, e := range es {
		got = append(got, want{e.Line, e.Field})
	}
	if !reflect.DeepEqual(got, wants) {
		t.Errorf("got\n%v\nwant\n%v\nerrors:\n%v", got, wants, err)
	}
	if !sort.SliceIsSorted(es, func(i, j int) bool { return es[i].Line < es[j].Line }) {
		t.Errorf("errors not in line order:\n%v", err)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse(testFile, []byte(doc(nil, baseTables+"[[serial]]\ndevice = \"/dev/ttyS0\"\n")))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:         testFile,
		ClusterID:    42,
		NodeID:       1,
		PeerID:       2,
		NodeName:     "node1",
		PeerName:     "node2",
		Mode:         Asymmetric,
		Primary:      1,
		Failback:     FailbackAuto,
		KeyFile:      "/etc/had/authkeys",
		RecoverTable: "/etc/had/recover.table",
		ShmPath:      "/dev/shm/had",
		StateDir:     "/var/lib/had",
		BinDir:       "",
		LogLevel:     "info",
		Timers:       DefaultTimers(),
		UDP: []UDPPath{{
			Name:  "udp0",
			Local: netip.MustParseAddrPort("10.213.0.1:6940"),
			Peer:  netip.MustParseAddrPort("10.213.0.2:6940"),
		}},
		Serial:    []SerialPath{{Name: "serial0", Device: "/dev/ttyS0", Baud: 115200}},
		Fence:     Fence{Timeout: 10 * time.Second},
		Supervise: DefaultSupervise(),
		Realtime:  DefaultRealtime(),
		Admin:     DefaultAdmin(),
		Alerts:    DefaultAlerts(),
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got\n%+v\nwant\n%+v", cfg, want)
	}
	if !cfg.OwnGroup() || cfg.PeerGroup() {
		t.Errorf("got OwnGroup %v PeerGroup %v, want true false", cfg.OwnGroup(), cfg.PeerGroup())
	}
}

func TestDefaultsAreValid(t *testing.T) {
	// The defaults must pass their own rules, or every cross-field rule
	// that blames the written key would point at nothing.
	var c collector
	r := &reader{c: &c, bad: map[string]bool{}}
	cfg := &Config{Timers: DefaultTimers(), Supervise: DefaultSupervise()}
	r.validateTimers(&cfg.Timers)
	r.validateSupervise(&cfg.Supervise)
	if len(c.errs) != 0 {
		t.Errorf("got %v, want no error", c.errs)
	}
}

func TestEverySetting(t *testing.T) {
	src := `cluster_id = 4294967295
node_id = 2
node_name = "beta"
peer_name = "alpha"
mode = "symmetric"
failback = "manual"
key_file = "/k"
recover_table = "r"
takeover_table = "sub/../t"
shm_path = "/dev/shm/had-test"
state_dir = "state"
bin_dir = "bin"
log_level = "debug"
timers = { interval = "10ms", warntime = "20ms", deadtime = "30ms", initdead = "1s", ack_timeout = "40ms", retransmit = "5ms" }
udp = [
  { name = "v6", local = "[2001:db8::2]:7000", peer = "[2001:db8::1]:7000", interface = "eth1" },
  { local = "[::ffff:10.213.0.2]:7001", peer = "10.213.0.1:7001" },
]
[[serial]]
device = "ttyA"
baud = 9600
[fence]
command = "poweroff-peer"
timeout = "2s"
required = true
[supervise]
liveness = "10ms"
hang_timeout = "100ms"
brain_grace = "1s"
max_restarts = 3
restart_window = "10s"
backoff_min = "1ms"
backoff_max = "1s"
[realtime]
policy = "fifo"
priority = 99
lock_memory = "current"
processes = ["receiver", "admin"]
[admin]
socket = "run/admin.sock"
group = "wheel"
listen = "10.213.0.2:8443"
token_file = "token"
web = true
metrics = true
peer = "10.213.0.1:8443"
history = "1h"
[alerts]
min_level = "info"
rate_limit = "5s"
timeout = "3s"
beep = true
command = "logger -t had"
email = { server = "127.0.0.1:2525", from = "had@beta", to = ["ops@example.com", "Pager <pager@example.com>"] }
sms = { url = "http://10.213.0.9/sms" }
`
	cfg, err := Parse("/etc/had/had.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: "/etc/had/had.toml", ClusterID: 4294967295, NodeID: 2, PeerID: 1, NodeName: "beta", PeerName: "alpha",
		Mode: Symmetric, Failback: FailbackManual,
		KeyFile: "/k", RecoverTable: "/etc/had/r", TakeoverTable: "/etc/had/t",
		ShmPath: "/dev/shm/had-test", StateDir: "/etc/had/state", BinDir: "/etc/had/bin", LogLevel: "debug",
		Timers: Timers{Interval: 10 * time.Millisecond, Warntime: 20 * time.Millisecond, Deadtime: 30 * time.Millisecond,
			Initdead: time.Second, AckTimeout: 40 * time.Millisecond, Retransmit: 5 * time.Millisecond},
		UDP: []UDPPath{
			{Name: "v6", Local: netip.MustParseAddrPort("[2001:db8::2]:7000"), Peer: netip.MustParseAddrPort("[2001:db8::1]:7000"), Interface: "eth1"},
			{Name: "udp1", Local: netip.MustParseAddrPort("10.213.0.2:7001"), Peer: netip.MustParseAddrPort("10.213.0.1:7001")},
		},
		Serial: []SerialPath{{Name: "serial0", Device: "/etc/had/ttyA", Baud: 9600}},
		Fence:  Fence{Command: "poweroff-peer", Timeout: 2 * time.Second, Required: true},
		Supervise: Supervise{Liveness: 10 * time.Millisecond, HangTimeout: 100 * time.Millisecond, BrainGrace: time.Second,
			MaxRestarts: 3, RestartWindow: 10 * time.Second, BackoffMin: time.Millisecond, BackoffMax: time.Second},
		Realtime: Realtime{Policy: SchedFIFO, Priority: 99, LockMemory: LockCurrent, Processes: []string{"receiver", "admin"}},
		Admin: Admin{Socket: "/etc/had/run/admin.sock", Group: "wheel", Listen: "10.213.0.2:8443", TokenFile: "/etc/had/token",
			Web: true, Metrics: true, Peer: "10.213.0.1:8443", History: time.Hour},
		Alerts: Alerts{MinLevel: "info", RateLimit: 5 * time.Second, Timeout: 3 * time.Second, Beep: true, Command: "logger -t had",
			Email: Email{Server: "127.0.0.1:2525", From: "had@beta", To: []string{"ops@example.com", "Pager <pager@example.com>"}},
			SMS:   SMS{URL: "http://10.213.0.9/sms"}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got\n%+v\nwant\n%+v", cfg, want)
	}
	// What Parse returns, encoded again, parses to itself (as FuzzParse checks).
	again, err := Parse("/etc/had/had.toml", encode(t, cfg))
	if err != nil || !reflect.DeepEqual(again, cfg) {
		t.Errorf("round trip: got %+v, %v; want %+v", again, err, cfg)
	}
}

func TestRelativePaths(t *testing.T) {
	src := doc(map[string]string{
		"key_file":      `"authkeys"`,
		"recover_table": `"../tables/recover.table"`,
		"state_dir":     `"/var/lib/had/"`,
	}, "[[serial]]\ndevice = \"./pty/a\"\n")
	cases := []struct {
		file                           string
		key, recover, state, serialDev string
	}{
		{"/etc/had/had.toml", "/etc/had/authkeys", "/etc/tables/recover.table", "/var/lib/had", "/etc/had/pty/a"},
		{"conf/had.toml", "conf/authkeys", "tables/recover.table", "/var/lib/had", "conf/pty/a"},
		{"had.toml", "authkeys", "../tables/recover.table", "/var/lib/had", "pty/a"},
	}
	for _, tc := range cases {
		cfg, err := Parse(tc.file, []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		got := []string{cfg.KeyFile, cfg.RecoverTable, cfg.StateDir, cfg.Serial[0].Device}
		want := []string{tc.key, tc.recover, tc.state, tc.serialDev}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q, want %q", tc.file, got, want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.toml", Line: 3, Field: "timers.deadtime", Msg: "too short"}, "a.toml:3: timers.deadtime: too short"},
		{Error{File: "a.toml", Field: "key_file", Msg: "required"}, "a.toml: key_file: required"},
		{Error{File: "a.toml", Line: 7, Msg: "bad syntax"}, "a.toml:7: bad syntax"},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	es := Errors{cases[0].e, cases[1].e}
	if got, want := es.Error(), cases[0].want+"\n"+cases[1].want; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var one Error
	if !errors.As(error(es), &one) || one != cases[0].e {
		t.Errorf("errors.As: got %v, want %v", one, cases[0].e)
	}
}

// serials returns n [[serial]] tables on distinct devices.
func serials(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[[serial]]\ndevice = \"/dev/ttyS%d\"\n", i)
	}
	return b.String()
}
