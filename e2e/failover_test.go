package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
)

// Power off the active node: the client is served at the VIP by the other
// node, whose MAC its ARP entry now holds. A comes back and, with automatic
// failback, takes the VIP back.
func TestPowerOffFailoverAndAutoFailback(t *testing.T) {
	c, p := up(t, cluster.Options{})
	off := time.Now()
	if err := c.Bed.PowerOff("A"); err != nil {
		t.Fatal(err)
	}
	r, err := p.FirstReplyFrom("B", off, 10*time.Second)
	if err != nil {
		t.Fatalf("client not served by B after A's power-off: %v", err)
	}
	t.Logf("power-off to first reply from B: %v", r.Received.Sub(off))
	waitARP(t, c, c.VIP(1), "B")
	if _, err := c.WaitStatus("B", 5*time.Second, "B in T", func(s console.Status) bool { return s.Node.State == "T" }); err != nil {
		t.Fatal(err)
	}

	if err := c.Bed.PowerOn("A"); err != nil {
		t.Fatal(err)
	}
	on := time.Now()
	if err := c.Start("A"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FirstReplyFrom("A", on, 20*time.Second); err != nil {
		t.Fatalf("automatic failback: client not served by A again: %v", err)
	}
	waitARP(t, c, c.VIP(1), "A")
	if _, err := c.WaitStatus("A", 10*time.Second, "pair (N,N)", func(s console.Status) bool { return s.Pair == "(N,N)" && s.Node.Held == "g1" }); err != nil {
		t.Fatal(err)
	}
}

// With manual failback the returning node stands by until hactl recover.
func TestManualFailback(t *testing.T) {
	c, p := up(t, cluster.Options{Manual: true})
	on := powerCycle(t, c, p)
	if _, err := c.WaitStatus("A", 15*time.Second, "A standing by, (D,T)", func(s console.Status) bool {
		return s.Pair == "(D,T)" && s.Peer.Alive
	}); err != nil {
		t.Fatal(err)
	}
	waitLog(t, c, "A", "manual failback", 5*time.Second)
	noRepliesFrom(t, p, "A", on)

	out, err := c.Hactl("A", "recover")
	if err != nil {
		t.Fatalf("hactl recover: %v: %s", err, out)
	}
	t.Logf("hactl recover: %s", out)
	rec := time.Now()
	if _, err := p.FirstReplyFrom("A", on, 10*time.Second); err != nil {
		t.Fatalf("after hactl recover: client not served by A: %v", err)
	}
	waitARP(t, c, c.VIP(1), "A")
	if _, err := c.WaitStatus("B", 5*time.Second, "pair (N,N)", func(s console.Status) bool { return s.Pair == "(N,N)" }); err != nil {
		t.Fatal(err)
	}
	_ = rec
}

// Symmetric mode: each node serves its own VIP; when B is powered off, A
// serves both, and B takes its own back when it returns.
func TestSymmetricTakeoverAndRecover(t *testing.T) {
	c, p1 := up(t, cluster.Options{Symmetric: true})
	p2, err := c.Bed.Probe(netip.AddrPortFrom(c.VIP(2), cluster.ServicePort+1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p2.Stop)
	if _, err := p2.FirstReplyFrom("B", time.Time{}, 10*time.Second); err != nil {
		t.Fatalf("VIP 2 not served by B: %v", err)
	}
	off := time.Now()
	if err := c.Bed.PowerOff("B"); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.FirstReplyFrom("A", off, 10*time.Second); err != nil {
		t.Fatalf("after B's power-off, VIP 2 not served by A: %v", err)
	}
	waitARP(t, c, c.VIP(2), "A")
	if _, err := c.WaitStatus("A", 5*time.Second, "A in T holding both", func(s console.Status) bool {
		return s.Node.State == "T" && s.Node.Held == "g1,g2"
	}); err != nil {
		t.Fatal(err)
	}
	noRepliesFrom(t, p1, "B", time.Time{})

	if err := c.Bed.PowerOn("B"); err != nil {
		t.Fatal(err)
	}
	on := time.Now()
	if err := c.Start("B"); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.FirstReplyFrom("B", on, 20*time.Second); err != nil {
		t.Fatalf("B did not take VIP 2 back: %v", err)
	}
	waitARP(t, c, c.VIP(2), "B")
	if _, err := c.WaitStatus("A", 10*time.Second, "pair (N,N), A holding g1", func(s console.Status) bool {
		return s.Pair == "(N,N)" && s.Node.Held == "g1"
	}); err != nil {
		t.Fatal(err)
	}
}

// SIGTERM to had1 is the graceful stop: the node hands its group to the
// peer at once (TAKEOVER, not OVERTIME), removes its address, and every
// had process of the node exits.
func TestGracefulStopHandsOver(t *testing.T) {
	c, p := up(t, cluster.Options{})
	st, err := c.Status("A")
	if err != nil {
		t.Fatal(err)
	}
	had1 := cluster.Daemon(st, "had1")
	stop := time.Now()
	if err := syscall.Kill(int(had1.PID), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r, err := p.FirstReplyFrom("B", stop, 5*time.Second)
	if err != nil {
		t.Fatalf("client not served by B after A's graceful stop: %v", err)
	}
	t.Logf("SIGTERM to first reply from B: %v", r.Received.Sub(stop).Round(time.Millisecond))
	waitARP(t, c, c.VIP(1), "B")
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids, err := c.Bed.PIDs("A")
		if err != nil {
			t.Fatal(err)
		}
		var had []int
		for _, pid := range pids {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(b), "had") {
				had = append(had, pid)
			}
		}
		if len(had) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("had processes still running on A after the stop: %v", had)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(c.ShmPath("A")); err == nil {
		t.Error("A's table is still there after a graceful stop")
	}
	if out, _ := c.Bed.Exec("A", "ip", "-o", "addr", "show", "dev", "eth0"); strings.Contains(out, c.VIP(1).String()) {
		t.Errorf("A still holds the VIP after stopping:\n%s", out)
	}
	b := mustRead(t, c.Bed.LogPath("B", "had1"))
	iTake, iOver := strings.Index(b, `"kind":"TAKEOVER"`), strings.Index(b, "OVERTIME")
	if iTake < 0 || (iOver >= 0 && iOver < iTake) {
		t.Fatalf("B did not take over on A's TAKEOVER before any OVERTIME (TAKEOVER at %d, OVERTIME at %d)", iTake, iOver)
	}
}

// A node that starts afresh removes virtual addresses of its tables that
// it holds without owning them (left by a crash or by hand), before its
// state machine starts: otherwise two nodes would answer for the VIP.
func TestStartupRemovesStrayVIP(t *testing.T) {
	c, _ := upWith(t, func(c *cluster.Cluster) cluster.Options {
		// Before had starts anywhere: B holds group 1's VIP by mistake.
		vip := c.Bed.VIP(0).String() + "/32"
		if out, err := c.Bed.Exec("B", "ip", "addr", "add", vip, "dev", "eth0"); err != nil {
			t.Fatalf("add a stray VIP on B: %v: %s", err, out)
		}
		return cluster.Options{}
	})
	if out, _ := c.Bed.Exec("B", "ip", "-o", "addr", "show", "dev", "eth0"); strings.Contains(out, c.VIP(1).String()+"/") {
		t.Fatalf("B still holds the VIP it does not own:\n%s", out)
	}
	waitLog(t, c, "B", "removed an address this node does not hold", time.Second)
}
