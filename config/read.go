package config

import (
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on single values. Cross-field rules live in validate.go.
const (
	// minDuration: Go timers on this kind of machine do not honour less
	// (time.Sleep(1µs) takes ~125µs, the netpoller works in milliseconds;
	// notes/libraries.md §2), so a shorter setting would not mean what it says.
	minDuration = time.Millisecond
	// maxDuration keeps every timer far from overflow when code adds or
	// multiplies them; no HA timer is sensibly longer than a day.
	maxDuration = 24 * time.Hour
	// maxNameLen bounds node and path names, which appear in every log line.
	maxNameLen = 64
	// maxIfNameLen is IFNAMSIZ (16) minus the terminating NUL.
	maxIfNameLen = 15
	// maxRestartsLimit: a supervisor that allows more restarts than this in
	// one window is not failing safe at all.
	maxRestartsLimit = 10000
)

// Defaults for the keys that have no Default* function.
const (
	DefaultShmPath      = "/dev/shm/had"
	DefaultStateDir     = "/var/lib/had"
	DefaultLogLevel     = "info"
	DefaultFenceTimeout = 10 * time.Second
	DefaultBaud         = 115200
)

// logLevels are the zerolog level names a daemon may run at. zerolog also
// knows fatal, panic and disabled, which would hide the transition lines.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// bauds are the serial speeds SPEC §3 allows (8N1).
var bauds = []int{9600, 19200, 38400, 57600, 115200}

// reader turns the decoded document into a Config, checking each value on
// its own: presence, type and range. It never stops at a problem, so that
// every problem in the file is reported at once.
type reader struct {
	c   *collector
	dir string // relative paths are resolved against this
	// bad holds the paths whose value was rejected; cross-field rules skip
	// them, so one typo gives one error, not a cascade.
	bad map[string]bool
}

func (r *reader) fail(path, format string, args ...any) {
	r.bad[path] = true
	r.c.add(path, format, args...)
}

func (r *reader) read(f *tomlFile) *Config {
	cfg := &Config{
		File:      r.c.file,
		Failback:  FailbackAuto,
		ShmPath:   DefaultShmPath,
		StateDir:  DefaultStateDir,
		LogLevel:  DefaultLogLevel,
		Timers:    DefaultTimers(),
		Fence:     Fence{Timeout: DefaultFenceTimeout},
		Supervise: DefaultSupervise(),
		Realtime:  DefaultRealtime(),
	}

	if n, ok := r.integer("cluster_id", f.ClusterID, true); ok {
		if n < 1 || n > math.MaxUint32 {
			r.fail("cluster_id", "%d is out of range: want 1 to %d", n, uint32(math.MaxUint32))
		} else {
			cfg.ClusterID = uint32(n)
		}
	}
	if id, ok := r.nodeID("node_id", f.NodeID, true); ok {
		cfg.NodeID, cfg.PeerID = id, 3-id
		cfg.NodeName = fmt.Sprintf("node%d", cfg.NodeID)
		cfg.PeerName = fmt.Sprintf("node%d", cfg.PeerID)
	}
	r.name("node_name", f.NodeName, &cfg.NodeName)
	r.name("peer_name", f.PeerName, &cfg.PeerName)

	if s, ok := r.oneOf("mode", f.Mode, true, string(Asymmetric), string(Symmetric)); ok {
		cfg.Mode = Mode(s)
	}
	switch {
	case cfg.Mode == Asymmetric && f.Primary == nil:
		r.fail("primary", "required in asymmetric mode: the node (1 or 2) that owns the group")
	case cfg.Mode == Symmetric && f.Primary != nil:
		r.fail("primary", "not used in symmetric mode, where both nodes own a group: remove it")
	default:
		if id, ok := r.nodeID("primary", f.Primary, false); ok {
			cfg.Primary = id
		}
	}
	if s, ok := r.oneOf("failback", f.Failback, false, string(FailbackAuto), string(FailbackManual)); ok {
		cfg.Failback = Failback(s)
	}

	r.path("key_file", f.KeyFile, true, &cfg.KeyFile)
	r.path("recover_table", f.RecoverTable, false, &cfg.RecoverTable)
	r.path("takeover_table", f.TakeoverTable, false, &cfg.TakeoverTable)
	r.path("shm_path", f.ShmPath, false, &cfg.ShmPath)
	r.path("state_dir", f.StateDir, false, &cfg.StateDir)
	if s, ok := r.str("bin_dir", f.BinDir); ok && s != "" {
		cfg.BinDir = r.resolve(s) // empty means had1's own directory, decided by had1
	}
	if s, ok := r.oneOf("log_level", f.LogLevel, false, logLevels...); ok {
		cfg.LogLevel = s
	}

	t := &cfg.Timers
	r.duration("timers.interval", f.Timers.Interval, &t.Interval)
	r.duration("timers.warntime", f.Timers.Warntime, &t.Warntime)
	r.duration("timers.deadtime", f.Timers.Deadtime, &t.Deadtime)
	r.duration("timers.initdead", f.Timers.Initdead, &t.Initdead)
	r.duration("timers.ack_timeout", f.Timers.AckTimeout, &t.AckTimeout)
	r.duration("timers.retransmit", f.Timers.Retransmit, &t.Retransmit)

	for i, u := range f.UDP {
		cfg.UDP = append(cfg.UDP, r.udp(fmt.Sprintf("udp[%d]", i), i, u))
	}
	for i, s := range f.Serial {
		cfg.Serial = append(cfg.Serial, r.serial(fmt.Sprintf("serial[%d]", i), i, s))
	}

	if s, ok := r.str("fence.command", f.Fence.Command); ok {
		cfg.Fence.Command = s
	}
	r.duration("fence.timeout", f.Fence.Timeout, &cfg.Fence.Timeout)
	if b, ok := r.boolean("fence.required", f.Fence.Required); ok {
		cfg.Fence.Required = b
	}

	s := &cfg.Supervise
	r.duration("supervise.liveness", f.Supervise.Liveness, &s.Liveness)
	r.duration("supervise.hang_timeout", f.Supervise.HangTimeout, &s.HangTimeout)
	r.duration("supervise.brain_grace", f.Supervise.BrainGrace, &s.BrainGrace)
	if n, ok := r.integer("supervise.max_restarts", f.Supervise.MaxRestarts, false); ok {
		if n < 1 || n > maxRestartsLimit {
			r.fail("supervise.max_restarts", "%d is out of range: want 1 to %d", n, maxRestartsLimit)
		} else {
			s.MaxRestarts = int(n)
		}
	}
	r.duration("supervise.restart_window", f.Supervise.RestartWindow, &s.RestartWindow)
	r.duration("supervise.backoff_min", f.Supervise.BackoffMin, &s.BackoffMin)
	r.duration("supervise.backoff_max", f.Supervise.BackoffMax, &s.BackoffMax)

	r.readRealtime(f, cfg)
	r.readAgents(f, cfg)
	r.readAdmin(f, cfg)
	return cfg
}

func (r *reader) udp(path string, i int, u tomlUDP) UDPPath {
	p := UDPPath{Name: fmt.Sprintf("udp%d", i)}
	r.name(path+".name", u.Name, &p.Name)
	p.Local = r.addrPort(path+".local", u.Local, true)
	p.Peer = r.addrPort(path+".peer", u.Peer, false)
	if s, ok := r.str(path+".interface", u.Interface); ok {
		switch {
		case s == "" || len(s) > maxIfNameLen:
			r.fail(path+".interface", "%q is not an interface name: want 1 to %d characters", s, maxIfNameLen)
		case strings.ContainsAny(s, "/:") || strings.IndexFunc(s, notGraphic) >= 0:
			r.fail(path+".interface", "%q is not an interface name: no '/', ':', spaces or control characters", s)
		default:
			p.Interface = s
		}
	}
	return p
}

func (r *reader) serial(path string, i int, s tomlSerial) SerialPath {
	p := SerialPath{Name: fmt.Sprintf("serial%d", i), Baud: DefaultBaud}
	r.name(path+".name", s.Name, &p.Name)
	r.path(path+".device", s.Device, true, &p.Device)
	if n, ok := r.integer(path+".baud", s.Baud, false); ok {
		if n > math.MaxInt32 || !contains(bauds, int(n)) {
			r.fail(path+".baud", "%d is not a supported speed: want 9600, 19200, 38400, 57600 or 115200", n)
		} else {
			p.Baud = int(n)
		}
	}
	return p
}

// str reads an optional string.
func (r *reader) str(path string, v any) (string, bool) {
	if v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		r.fail(path, "want a string, got %s", tomlType(v))
		return "", false
	}
	return s, true
}

// integer reads an integer; a required one that is missing is a problem.
func (r *reader) integer(path string, v any, required bool) (int64, bool) {
	if v == nil {
		if required {
			r.fail(path, "required")
		}
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		r.fail(path, "want an integer, got %s", tomlType(v))
		return 0, false
	}
	return n, true
}

func (r *reader) boolean(path string, v any) (bool, bool) {
	if v == nil {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		r.fail(path, "want true or false, got %s", tomlType(v))
		return false, false
	}
	return b, true
}

func (r *reader) nodeID(path string, v any, required bool) (uint8, bool) {
	n, ok := r.integer(path, v, required)
	if !ok {
		return 0, false
	}
	if n != 1 && n != 2 {
		r.fail(path, "%d is not a node: want 1 or 2", n)
		return 0, false
	}
	return uint8(n), true
}

// oneOf reads a string that must be one of choices.
func (r *reader) oneOf(path string, v any, required bool, choices ...string) (string, bool) {
	if v == nil && required {
		r.fail(path, "required: one of %s", quoteAll(choices))
		return "", false
	}
	s, ok := r.str(path, v)
	if !ok {
		return "", false
	}
	if !contains(choices, s) {
		r.fail(path, "%q is not one of %s", s, quoteAll(choices))
		return "", false
	}
	return s, true
}

// name reads a node or path name: it appears in logs, alerts and status
// lines, so it must be short and free of spaces and control characters.
func (r *reader) name(path string, v any, dst *string) {
	s, ok := r.str(path, v)
	if !ok {
		return
	}
	switch {
	case s == "" || len(s) > maxNameLen:
		r.fail(path, "%q: want 1 to %d characters", s, maxNameLen)
	case !utf8.ValidString(s) || strings.IndexFunc(s, notGraphic) >= 0:
		r.fail(path, "%q: no spaces or control characters", s)
	default:
		*dst = s
	}
}

// path reads a file or directory name and resolves it against the
// configuration file's directory.
func (r *reader) path(path string, v any, required bool, dst *string) {
	if v == nil {
		if required {
			r.fail(path, "required")
		}
		return
	}
	s, ok := r.str(path, v)
	if !ok {
		return
	}
	if s == "" {
		r.fail(path, "must not be empty")
		return
	}
	if strings.IndexByte(s, 0) >= 0 {
		r.fail(path, "must not contain a NUL byte")
		return
	}
	*dst = r.resolve(s)
}

func (r *reader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(r.dir, p)
}

// duration reads a duration string into dst, which holds the default.
func (r *reader) duration(path string, v any, dst *time.Duration) {
	s, ok := r.str(path, v)
	if !ok {
		return
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		r.fail(path, "%q is not a duration: want a number and a unit, like \"50ms\" or \"3s\"", s)
	case d < minDuration || d > maxDuration:
		r.fail(path, "%s is out of range: want %s to %s", d, minDuration, maxDuration)
	default:
		*dst = d
	}
}

// addrPort reads "ip:port". A local (bind) address may be unspecified
// (0.0.0.0 or ::); the peer's may not. Neither may have port 0: each node
// must know exactly where the other listens.
func (r *reader) addrPort(path string, v any, local bool) netip.AddrPort {
	if v == nil {
		r.fail(path, "required: an address like \"10.213.0.1:6940\"")
		return netip.AddrPort{}
	}
	s, ok := r.str(path, v)
	if !ok {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		r.fail(path, "%q is not ip:port, like \"10.213.0.1:6940\" or \"[2001:db8::1]:6940\"", s)
		return netip.AddrPort{}
	}
	// ::ffff:10.0.0.1 is 10.0.0.1; unmapping makes the family and duplicate
	// checks see what the socket will see.
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	switch {
	case ap.Port() == 0:
		r.fail(path, "%s: port 0 is not a fixed port", s)
	case !local && ap.Addr().IsUnspecified():
		r.fail(path, "%s: the peer's address must not be unspecified", s)
	default:
		return ap
	}
	return netip.AddrPort{}
}

func notGraphic(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) }

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// tomlType names the TOML type of a value go-toml decoded into an `any`.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}
