// Package cluster runs a real two-node had cluster on a testbed: it writes
// both nodes' configuration, key file and tables, starts had1 in each node's
// namespace, and reads each node's status through hactl. The end-to-end
// tests, `make demo` and the failover benchmark use it.
package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/testbed"
)

// Nodes are the testbed names of node 1 and node 2.
var Nodes = [2]string{"A", "B"}

// ServicePort is where echod answers UDP on the VIP; HTTPPort its HTTP.
const (
	ServicePort = 7
	HTTPPort    = 8080
)

// Options shape the cluster.
type Options struct {
	Symmetric bool   // both nodes own a group (the second VIP is B's)
	Manual    bool   // manual failback
	Timers    string // the [timers] table's body; empty: the shipped defaults
	Supervise string // the [supervise] table's body; empty: the defaults
	Realtime  string // the [realtime] table's body; empty: the defaults
	Extra     string // more top-level TOML for both nodes (e.g. log_level)
	// NoService leaves echod out of the tables: only the VIPs move.
	NoService bool
	// OCF adds the OCF heartbeat:Dummy agent to every table.
	OCF bool
	// Tee adds a tee relay on each VIP (TeePort) to both nodes.
	Tee bool
	// Agents is TOML appended to both nodes' configuration ([[agent]]
	// tables).
	Agents string
	// Remote opens each node's admin server on AdminPort of its address,
	// with the web console, /metrics and the peer's status (Token).
	Remote bool
	// Alerts is the body of the [alerts] table.
	Alerts string
	// Fencing gives both nodes a required fence command that asks the
	// test's fence device (ServeFencing) to power the peer off.
	Fencing bool
}

// AdminPort is where the admin server listens when Options.Remote is set;
// Token is the token both nodes use.
const (
	AdminPort = 8443
	Token     = "e2e-admin-token-0123456789"
)

// Cluster is two had nodes on a bed.
type Cluster struct {
	Bed  *testbed.Bed
	Bin  string // directory of the had binaries
	Opts Options
	dir  string
	had1 map[string]*testbed.Proc
}

// BinDir returns where the had binaries are: $HAD_BIN (set by the
// Makefile), else ./bin of the module.
func BinDir() (string, error) {
	if d := os.Getenv("HAD_BIN"); d != "" {
		return d, nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	return filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "bin"), nil
}

// New writes the configuration of both nodes into the bed's directory.
func New(bed *testbed.Bed, bin string, opts Options) (*Cluster, error) {
	for _, prog := range []string{"had1", "had2", "had-sender", "had-receiver", "had-admin", "hactl", "echod"} {
		if _, err := os.Stat(filepath.Join(bin, prog)); err != nil {
			return nil, fmt.Errorf("cluster needs the built binaries (make build): %w", err)
		}
	}
	c := &Cluster{Bed: bed, Bin: bin, Opts: opts, dir: filepath.Join(bed.Dir(), "had"), had1: map[string]*testbed.Proc{}}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.KeyFile(), []byte("active 1\nkey 1 e2e-test-secret-0123456789abcdef\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.TokenFile(), []byte(Token+"\n"), 0o600); err != nil {
		return nil, err
	}
	for i, n := range Nodes {
		if err := c.writeNode(i+1, n); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// TokenFile is the admin token both nodes use (Options.Remote).
func (c *Cluster) TokenFile() string { return filepath.Join(c.dir, "admin-token") }

// AdminSocket is node's admin server socket (in its run directory).
func (c *Cluster) AdminSocket(node string) string {
	return filepath.Join(c.Bed.RunDir(node), "admin.sock")
}

// AdminURL is node's admin server over TCP (Options.Remote).
func (c *Cluster) AdminURL(node string) string {
	return fmt.Sprintf("http://%s:%d", c.Bed.Addr(node), AdminPort)
}

// KeyFile is the shared key file.
func (c *Cluster) KeyFile() string { return filepath.Join(c.dir, "authkeys") }

// ConfigPath is node's configuration file.
func (c *Cluster) ConfigPath(node string) string { return filepath.Join(c.dir, node+".toml") }

// ShmPath is node's record table; it lives in the node's run directory,
// which the bed empties at power-off as a reboot empties /dev/shm.
func (c *Cluster) ShmPath(node string) string { return filepath.Join(c.Bed.RunDir(node), "had.shm") }

// VIP is the address of group g (1 or 2): node g's own service address.
func (c *Cluster) VIP(g int) netip.Addr { return c.Bed.VIP(g - 1) }

// PeerOf is the other node of the cluster.
func PeerOf(node string) string {
	if node == "A" {
		return "B"
	}
	return "A"
}

func (c *Cluster) writeNode(id int, name string) error {
	peer := PeerOf(name)
	mode := "mode = \"asymmetric\"\nprimary = 1\n"
	if c.Opts.Symmetric {
		mode = "mode = \"symmetric\"\n"
	}
	failback := "auto"
	if c.Opts.Manual {
		failback = "manual"
	}
	cfg := fmt.Sprintf(`# node %[1]s of an end-to-end test cluster (written by e2e/cluster)
cluster_id = 42
node_id = %[2]d
node_name = %[1]q
peer_name = %[3]q
%[4]sfailback = %[5]q
key_file = %[6]q
shm_path = %[7]q
state_dir = %[8]q
bin_dir = %[9]q
%[10]s
`, name, id, peer, mode, failback, c.KeyFile(), c.ShmPath(name), filepath.Join(c.dir, "state-"+name), c.Bin, c.Opts.Extra)
	own := id == 1 || c.Opts.Symmetric
	other := id == 2 || c.Opts.Symmetric
	if own {
		cfg += fmt.Sprintf("recover_table = %q\n", c.tablePath(name, "recover"))
		if err := c.writeTable(name, "recover", id); err != nil {
			return err
		}
	}
	if other {
		cfg += fmt.Sprintf("takeover_table = %q\n", c.tablePath(name, "takeover"))
		if err := c.writeTable(name, "takeover", 3-id); err != nil {
			return err
		}
	}
	if c.Opts.Timers != "" {
		cfg += "\n[timers]\n" + c.Opts.Timers + "\n"
	}
	if c.Opts.Supervise != "" {
		cfg += "\n[supervise]\n" + c.Opts.Supervise + "\n"
	}
	if c.Opts.Realtime != "" {
		cfg += "\n[realtime]\n" + c.Opts.Realtime + "\n"
	}
	cfg += fmt.Sprintf(`
[[udp]]
name = "lan"
local = "%s:6940"
peer = "%s:6940"

[[serial]]
name = "rs232"
device = %q
baud = 115200
`, c.Bed.Addr(name), c.Bed.Addr(peer), c.Bed.TTY(name))
	cfg += fmt.Sprintf("\n[admin]\nsocket = %q\n", c.AdminSocket(name))
	if c.Opts.Remote {
		cfg += fmt.Sprintf("listen = \"%s:%d\"\ntoken_file = %q\nweb = true\nmetrics = true\npeer = \"%s:%d\"\n",
			c.Bed.Addr(name), AdminPort, c.TokenFile(), c.Bed.Addr(peer), AdminPort)
	}
	if c.Opts.Alerts != "" {
		cfg += "\n[alerts]\n" + c.Opts.Alerts + "\n"
	}
	if c.Opts.Fencing {
		script, err := c.writeFenceScript()
		if err != nil {
			return err
		}
		cfg += fmt.Sprintf("\n[fence]\ncommand = \"%s %s\"\ntimeout = \"5s\"\nrequired = true\n", script, peer)
	}
	if c.Opts.Agents != "" {
		cfg += "\n" + c.Opts.Agents + "\n"
	}
	return os.WriteFile(c.ConfigPath(name), []byte(cfg), 0o644)
}

func (c *Cluster) tablePath(node, kind string) string {
	return filepath.Join(c.dir, node+"-"+kind+".table")
}

// writeTable writes the table that runs group g on node: its VIP, unless
// NoService echod answering as this node (through an LSB init script), and
// the options' extra entries.
func (c *Cluster) writeTable(node, kind string, g int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s table of node %s: group %d\n", kind, node, g)
	fmt.Fprintf(&b, "vip %s/32 dev=eth0 garp_count=3 garp_interval=200ms\n", c.VIP(g))
	if !c.Opts.NoService {
		script, err := c.writeService(node, g)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "service lsb=%s timeout=5s\n", script)
	}
	if c.Opts.OCF {
		fmt.Fprintf(&b, "ocf agent=heartbeat:Dummy name=dummy-g%d state=%s\n", g, c.DummyState(node, g))
	}
	if c.Opts.Tee {
		fmt.Fprintf(&b, "tee listen=%s:%d to=%s:%d,%s:%d run_dir=%s bin=%s\n", c.VIP(g), TeePort,
			c.Bed.Addr("A"), TeePort+1, c.Bed.Addr("B"), TeePort+1, c.Bed.RunDir(node), filepath.Join(c.Bin, "had-tee"))
	}
	return os.WriteFile(c.tablePath(node, kind), []byte(b.String()), 0o644)
}

// TeePort is where a tee entry listens on the VIP (Options.Tee); it relays
// to TeePort+1 on both nodes.
const TeePort = 5000

// DummyState is the state file of group g's OCF Dummy resource on node:
// it exists while the resource runs there.
func (c *Cluster) DummyState(node string, g int) string {
	return filepath.Join(c.Bed.RunDir(node), fmt.Sprintf("dummy-g%d.state", g))
}

// ServiceScript is node's LSB init script for group g's echod.
func (c *Cluster) ServiceScript(node string, g int) string {
	return filepath.Join(c.dir, fmt.Sprintf("%s-echod-g%d", node, g))
}

// writeService writes an LSB init script (start, stop, status with LSB
// exit codes; starting a started and stopping a stopped service succeed)
// for group g's echod on node. echod binds 0.0.0.0, so it serves the
// group's VIP wherever the table runs it.
func (c *Cluster) writeService(node string, g int) (string, error) {
	run := c.Bed.RunDir(node)
	script := fmt.Sprintf(`#!/bin/sh
# LSB init script of group %[1]d's test service on node %[2]s (e2e/cluster).
PIDFILE=%[3]s/echod-g%[1]d.pid
# A dead daemon may linger as a zombie where nothing reaps orphans (this
# sandbox's PID 1): kill -0 would call it running, /proc's state does not.
running() {
	[ -e "$PIDFILE" ] || return 1
	pid=$(cat "$PIDFILE")
	[ -r /proc/$pid/stat ] && ! grep -q ') Z ' /proc/$pid/stat
}
case "$1" in
start)
	running && exit 0
	%[4]s -name %[2]s -udp :%[5]d -http :%[6]d >>%[3]s/echod.log 2>&1 &
	echo $! >"$PIDFILE"
	exit 0 ;;
stop)
	if running; then
		kill "$pid"
		i=0; while running && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done
	fi
	rm -f "$PIDFILE"
	exit 0 ;;
status)
	running && exit 0
	exit 3 ;;
*)
	echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
`, g, node, run, filepath.Join(c.Bin, "echod"), ServicePort+g-1, HTTPPort+g-1)
	path := c.ServiceScript(node, g)
	return path, os.WriteFile(path, []byte(script), 0o755)
}

// Start starts had1 on node.
func (c *Cluster) Start(node string) error { return c.StartClock(node, 0) }

// StartClock starts had1 on node in a time namespace of its own whose
// monotonic and boot clocks run ahead by offset, as on a machine booted
// that much earlier; zero starts it plainly. The two nodes of a real
// cluster never share a monotonic clock; in the bed they do unless told.
func (c *Cluster) StartClock(node string, offset time.Duration) error {
	argv := []string{filepath.Join(c.Bin, "had1"), "--config", c.ConfigPath(node)}
	if offset > 0 {
		secs := strconv.FormatInt(int64(offset/time.Second), 10)
		argv = append([]string{"unshare", "--time", "--fork", "--monotonic", secs, "--boottime", secs}, argv...)
	}
	p, err := c.Bed.Start(node, "had1", argv, nil)
	if err != nil {
		return err
	}
	c.had1[node] = p
	return nil
}

// Had1 is the had1 the cluster started last on node (a had2 may since
// have restarted it: read the status for the current PIDs).
func (c *Cluster) Had1(node string) *testbed.Proc { return c.had1[node] }

// Hactl runs hactl on node with args.
func (c *Cluster) Hactl(node string, args ...string) (string, error) {
	argv := append([]string{"ip", "netns", "exec", c.Bed.NS(node), filepath.Join(c.Bin, "hactl"), "--config", c.ConfigPath(node)}, args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

// Status is node's status as hactl status --json reports it.
func (c *Cluster) Status(node string) (console.Status, error) {
	out, err := c.Hactl(node, "status", "--json")
	if err != nil {
		return console.Status{}, fmt.Errorf("hactl status on %s: %w: %s", node, err, out)
	}
	var st console.StatusResponse
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return console.Status{}, fmt.Errorf("hactl status on %s: %w: %s", node, err, out)
	}
	return st.Local, nil
}

// ErrTimeout: a condition did not come true in time.
var ErrTimeout = errors.New("cluster: timed out")

// WaitStatus polls node's status until cond holds.
func (c *Cluster) WaitStatus(node string, timeout time.Duration, what string, cond func(console.Status) bool) (console.Status, error) {
	deadline := time.Now().Add(timeout)
	var last console.Status
	var lastErr error
	for {
		st, err := c.Status(node)
		if err == nil && cond(st) {
			return st, nil
		}
		last, lastErr = st, err
		if time.Now().After(deadline) {
			b, _ := json.Marshal(last)
			return last, fmt.Errorf("%w after %v waiting for %s on %s (last error %v, last status %s)", ErrTimeout, timeout, what, node, lastErr, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Daemon returns the named process in a status.
func Daemon(st console.Status, role string) console.Daemon {
	for _, d := range st.Daemons {
		if d.Role == role {
			return d
		}
	}
	return console.Daemon{}
}
