// Package testbed builds the namespace test bed of SPEC §9 on one Linux
// machine (root only), for the end-to-end tests, `make demo` and the failover
// benchmark:
//
//	         switch namespace (bridge br0, socat)
//	     pA/          |pB           \pC
//	eth0 10.213.N.1   eth0 .2       eth0 .10
//	   node A ==eth1== node B      client C
//	  (10.214.N.1)   (10.214.N.2)   (Options.DirectLink)
//	   ttyA <------ socat ------> ttyB
//
// Nothing touches the root namespace's network: the bridge lives in a
// namespace of its own and every veth is created directly inside the bed's
// namespaces. Namespace names start with Bed.Name() ("hadtb-PID-COUNTER"), so
// concurrent beds never collide; interface names are fixed (br0, pA, eth0, …)
// because each lives in a private namespace.
//
// What the tests need as proof is what the client sees: Prober records which
// node answers at the VIP, ARP reads the client's neighbour entry.
//
// Linux defaults are kept on purpose: with arp_ignore=0 a node answers ARP
// for any local address, and only the node holding the VIP has it, so only
// that node answers for it.
package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Sentinel errors.
var (
	ErrNode         = errors.New("testbed: unknown node")
	ErrPoweredOff   = errors.New("testbed: node is powered off")
	ErrNoDirectLink = errors.New("testbed: bed has no direct link")
	ErrNoNeigh      = errors.New("testbed: no neighbour entry")
	ErrTimeout      = errors.New("testbed: timed out")
)

// Options configure a bed. The zero value is a usable bed.
type Options struct {
	// DirectLink adds a second veth, eth1, straight from A to B with
	// 10.214.N.1/24 and 10.214.N.2/24: a crossover cable, so powering one
	// node off takes the carrier away from the other.
	DirectLink bool
	// Dir holds logs, the tty links and the nodes' run directories. Empty:
	// New uses t.TempDir(); Create makes a temporary directory that Close
	// removes. A given Dir is never removed.
	Dir string
	// Socat is the socat binary; empty means "socat" from PATH.
	Socat string
}

// node is one namespace of the bed.
type node struct {
	name string // "A", "B", "C", or "SW" for the switch
	ns   string // network namespace name
	host byte   // last octet of its addresses
	port string // its bridge port in the switch namespace
	mac  string // eth0 MAC
	mac1 string // eth1 MAC (A and B with DirectLink)
}

// Bed is one test bed. Its methods are safe for concurrent use.
type Bed struct {
	name      string
	subnet    byte // N in 10.213.N.0/24
	dir       string
	ownDir    bool
	ttyDir    string // where the tty links are: dir unless its name upsets socat
	ownTTYDir bool
	runDir    string // the nodes' run directories: on tmpfs (shmDir) when possible
	ownRunDir bool
	opts      Options
	nodes     map[string]*node
	sw        *node

	mu       sync.Mutex
	off      map[string]bool // powered-off nodes
	socat    *Proc           // nil while the serial line is cut
	procs    []*Proc
	probers  []*Prober
	captures []*ARPCapture
	watches  []*AddrWatch

	closeOnce sync.Once
	closeErr  error
}

// bedSeq numbers the beds of this process.
var bedSeq atomic.Uint32

// socatSpecial are characters socat's address syntax gives a meaning.
const socatSpecial = ",:!;{}[]()'\" \\"

// namePrefix starts every namespace the package creates; sweep relies on it.
const namePrefix = "hadtb-"

// shmDir is the tmpfs where the nodes' run directories go.
const shmDir = "/dev/shm"

// New creates a bed for a test and destroys it in t.Cleanup, dumping the tail
// of every log first when the test failed. It skips the test when not root.
func New(t testing.TB, opts Options) *Bed {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("testbed: needs root (network namespaces)")
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir() // its cleanup runs after ours: logs still exist for the dump
	}
	b, err := Create(opts)
	if err != nil {
		t.Fatalf("create test bed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.dumpLogs(t)
		}
		if err := b.Close(); err != nil {
			t.Errorf("close test bed: %v", err)
		}
	})
	return b
}

// Create builds a bed; the caller must Close it. On error nothing is left
// behind. It first removes beds left by test processes that died without
// cleaning up (see sweep).
func Create(opts Options) (_ *Bed, err error) {
	sweep()
	if opts.Socat == "" {
		opts.Socat = "socat"
	}
	pid, seq := os.Getpid(), bedSeq.Add(1)
	b := &Bed{
		name: fmt.Sprintf("%s%d-%d", namePrefix, pid, seq),
		// The addresses are private to the bed's namespaces, so a clash with
		// another bed would be harmless; different N only keeps logs readable.
		subnet: byte((pid+int(seq)*37)%250 + 1),
		opts:   opts,
		off:    map[string]bool{},
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, b.Close())
		}
	}()
	if b.dir = opts.Dir; b.dir == "" {
		if b.dir, err = os.MkdirTemp("", b.name+"-"); err != nil {
			return nil, fmt.Errorf("make bed dir: %w", err)
		}
		b.ownDir = true
	}
	// socat splits its addresses on ',', ':' and more, and t.TempDir() keeps
	// some of those from the test's name: then the links go elsewhere.
	if b.ttyDir = b.dir; strings.ContainsAny(b.dir, socatSpecial) {
		if b.ttyDir, err = os.MkdirTemp("", b.name+"-tty-"); err != nil {
			return nil, fmt.Errorf("make tty dir: %w", err)
		}
		b.ownTTYDir = true
	}
	// The run directories hold the nodes' record tables, which production
	// keeps in /dev/shm: a table mapped from a journalled file system
	// stalls its writers whenever the page was just written back (the
	// write fault waits for the journal, whose thread a loaded machine
	// starves), which is not what a node sees.
	b.runDir = filepath.Join(b.dir, "run")
	if st, err := os.Stat(shmDir); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp(shmDir, b.name+"-run-"); err == nil {
			b.runDir, b.ownRunDir = d, true
		}
	}
	b.sw = &node{name: "SW", ns: b.name + "-sw"}
	b.nodes = map[string]*node{}
	for _, n := range []struct {
		name string
		host byte
	}{{"A", 1}, {"B", 2}, {"C", 10}} {
		b.nodes[n.name] = &node{
			name: n.name,
			ns:   b.name + "-" + strings.ToLower(n.name),
			host: n.host,
			port: "p" + n.name,
			// Locally administered and readable: 02:68:<link>:<N>:00:<host>.
			mac:  fmt.Sprintf("02:68:00:%02x:00:%02x", b.subnet, n.host),
			mac1: fmt.Sprintf("02:68:01:%02x:00:%02x", b.subnet, n.host),
		}
	}
	if err := b.setupNet(); err != nil {
		return nil, err
	}
	for _, n := range []string{"A", "B", "C"} {
		if err := os.MkdirAll(b.RunDir(n), 0o755); err != nil {
			return nil, fmt.Errorf("make run dir: %w", err)
		}
	}
	if err := b.RestoreSerial(); err != nil {
		return nil, err
	}
	return b, nil
}

// Close stops probers, kills every process in the bed's namespaces, deletes
// the namespaces (and with them every link) and removes the directory if the
// bed made it. It is safe to call more than once and on a half-built bed.
func (b *Bed) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		probers, captures, watches := b.probers, b.captures, b.watches
		b.probers, b.captures, b.watches = nil, nil, nil
		b.mu.Unlock()
		for _, p := range probers {
			p.Stop()
		}
		for _, c := range captures {
			c.Stop()
		}
		for _, w := range watches {
			w.Stop()
		}
		var errs []error
		all := []*node{b.nodes["C"], b.nodes["B"], b.nodes["A"], b.sw}
		for _, n := range all {
			if n == nil || !nsExists(n.ns) {
				continue
			}
			if err := killNS(n.ns); err != nil {
				errs = append(errs, err)
			}
		}
		b.mu.Lock()
		procs := b.procs
		b.mu.Unlock()
		for _, p := range procs {
			if err := p.Kill(); err != nil { // reaps the ones the namespace kill got
				errs = append(errs, err)
			}
		}
		for _, n := range all {
			if n == nil || !nsExists(n.ns) {
				continue
			}
			if _, err := run("ip", "netns", "del", n.ns); err != nil {
				errs = append(errs, err)
			}
		}
		for _, d := range []struct {
			path string
			own  bool
		}{{b.dir, b.ownDir}, {b.ttyDir, b.ownTTYDir}, {b.runDir, b.ownRunDir}} {
			if d.own {
				if err := os.RemoveAll(d.path); err != nil {
					errs = append(errs, fmt.Errorf("remove bed dir: %w", err))
				}
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// setupNet creates the namespaces, the bridge and the links.
func (b *Bed) setupNet() error {
	a, bb, c := b.nodes["A"], b.nodes["B"], b.nodes["C"]
	var add []string
	for _, n := range []*node{b.sw, a, bb, c} {
		add = append(add, "netns add "+n.ns)
	}
	if err := ipBatch("", add); err != nil {
		return err
	}
	// The switch: no STP (ports forward at once), no multicast snooping (it
	// would filter multicast heartbeats until a querier shows up).
	sw := []string{
		"link add br0 type bridge stp_state 0 mcast_snooping 0",
		"link set br0 up",
	}
	for _, n := range []*node{a, bb, c} {
		sw = append(sw,
			fmt.Sprintf("link add %s type veth peer name eth0 netns %s", n.port, n.ns),
			fmt.Sprintf("link set %s master br0 up", n.port))
	}
	if err := ipBatch(b.sw.ns, sw); err != nil {
		return err
	}
	for _, n := range []*node{a, bb, c} {
		cmds := []string{
			"link set lo up",
			"link set eth0 address " + n.mac,
			fmt.Sprintf("addr add %s/24 dev eth0", b.Addr(n.name)),
			"link set eth0 up",
		}
		if b.opts.DirectLink && n != c {
			if n == a {
				cmds = append(cmds, "link add eth1 type veth peer name eth1 netns "+bb.ns)
			}
			cmds = append(cmds,
				"link set eth1 address "+n.mac1,
				fmt.Sprintf("addr add %s/24 dev eth1", b.DirectAddr(n.name)),
				"link set eth1 up")
		}
		if err := ipBatch(n.ns, cmds); err != nil {
			return err
		}
	}
	return nil
}
