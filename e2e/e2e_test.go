// Package e2e holds the end-to-end tests: the real had binaries in real
// network namespaces on a bridge, a socat pty pair as the serial line, real
// netlink address changes and gratuitous ARP, checked from a client
// namespace. They need root and the built binaries (make build).
package e2e

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
)

// up builds a bed and a cluster, starts both nodes, and waits until the
// client is served at group 1's VIP by node A and its ARP entry names A.
func up(t *testing.T, opts cluster.Options) (*cluster.Cluster, *testbed.Prober) {
	t.Helper()
	return upWith(t, func(*cluster.Cluster) cluster.Options { return opts })
}

// upWith is up with options that depend on the bed (its addresses): opts
// gets a cluster whose Bed is set.
func upWith(t *testing.T, opts func(*cluster.Cluster) cluster.Options) (*cluster.Cluster, *testbed.Prober) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("end-to-end tests need root")
	}
	if testing.Short() {
		t.Skip("end-to-end tests run on their own (make test runs them after the unit tests)")
	}
	bin, err := cluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	// HAD_E2E_KEEP=DIR keeps each test's bed directory (logs, configs) there.
	var dir string
	if keep := os.Getenv("HAD_E2E_KEEP"); keep != "" {
		dir = filepath.Join(keep, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bed := testbed.New(t, testbed.Options{Dir: dir})
	c, err := cluster.New(bed, bin, opts(&cluster.Cluster{Bed: bed}))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range cluster.Nodes {
		if err := c.Start(n); err != nil {
			t.Fatal(err)
		}
	}
	vip := netip.AddrPortFrom(c.VIP(1), cluster.ServicePort)
	p, err := bed.Probe(vip)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if _, err := p.FirstReplyFrom("A", time.Time{}, 20*time.Second); err != nil {
		t.Fatalf("client never served by A at %v: %v", vip, err)
	}
	waitARP(t, c, c.VIP(1), "A")
	if _, err := c.WaitStatus("B", 10*time.Second, "pair (N,N)", func(s console.Status) bool { return s.Pair == "(N,N)" }); err != nil {
		t.Fatal(err)
	}
	return c, p
}

// waitARP waits until the client's neighbour entry for vip holds node's MAC.
func waitARP(t *testing.T, c *cluster.Cluster, vip netip.Addr, node string) {
	t.Helper()
	want := c.Bed.MAC(node)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mac, state, err := c.Bed.ARP(vip)
		if err == nil && strings.EqualFold(mac, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("client ARP for %v: %s %s (err %v), want %s's MAC %s", vip, mac, state, err, node, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// powerCycle powers A off, waits until the client is served by B, then
// powers A on and starts had1 there; it returns when A booted.
func powerCycle(t *testing.T, c *cluster.Cluster, p *testbed.Prober) (on time.Time) {
	t.Helper()
	off := time.Now()
	if err := c.Bed.PowerOff("A"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FirstReplyFrom("B", off, 10*time.Second); err != nil {
		t.Fatalf("client not served by B after A's power-off: %v", err)
	}
	if err := c.Bed.PowerOn("A"); err != nil {
		t.Fatal(err)
	}
	on = time.Now()
	if err := c.Start("A"); err != nil {
		t.Fatal(err)
	}
	return on
}

// noRepliesFrom fails if node answered the prober after since.
func noRepliesFrom(t *testing.T, p *testbed.Prober, node string, since time.Time) {
	t.Helper()
	for _, r := range p.Replies() {
		if r.Node == node && r.Received.After(since) {
			t.Fatalf("%s answered at the VIP at %v (after %v): no failover was expected", node, r.Received, since)
		}
	}
}

// logHas reports whether node's had log contains s.
func logHas(t *testing.T, c *cluster.Cluster, node, s string) bool {
	t.Helper()
	b, err := os.ReadFile(c.Bed.LogPath(node, "had1"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), s)
}

// waitLog waits until node's had log contains s.
func waitLog(t *testing.T, c *cluster.Cluster, node, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !logHas(t, c, node, s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s's log never said %q", node, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
