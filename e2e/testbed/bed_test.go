package testbed

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitLong bounds waits for things that should happen (ARP, a restart);
// waitShort is how long a path must stay silent to count as cut.
const (
	waitLong  = 5 * time.Second
	waitShort = 300 * time.Millisecond
)

// bedNamespaces lists the namespaces whose name starts with prefix.
func bedNamespaces(t *testing.T, prefix string) []string {
	t.Helper()
	ents, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("list namespaces: %v", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestBed walks through everything the bed offers, on one bed with the
// direct link. The steps depend on each other, so they run in order.
func TestBed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	// Registered before the bed, so it runs after the bed's own cleanup:
	// nothing may be left, whether the test passed or failed halfway.
	var prefix string
	t.Cleanup(func() {
		if prefix == "" {
			return
		}
		if left := bedNamespaces(t, prefix); len(left) > 0 {
			t.Errorf("namespaces left after cleanup: got %v, want none", left)
		}
	})
	bins, err := Build(t.TempDir(), "./e2e/cmd/echod")
	if err != nil {
		t.Fatal(err)
	}
	echod := bins[0]
	b := New(t, Options{DirectLink: true})
	prefix = b.Name() + "-"
	if got := bedNamespaces(t, prefix); len(got) != 4 {
		t.Fatalf("namespaces: got %v, want 4", got)
	}

	startEchod := func(node string) *Proc {
		t.Helper()
		p, err := b.Start(node, "echod", []string{echod, "-name", node, "-udp", ":7", "-http", ":8080"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	startEchod("A")
	echodB := startEchod("B")

	vip := b.VIP(0)
	pr, err := b.Probe(netip.AddrPortFrom(vip, 7))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("VIP on A", func(t *testing.T) {
		t0 := time.Now()
		ip(t, b, "A", "addr", "add", vip.String()+"/32", "dev", "eth0")
		r, err := pr.FirstReplyFrom("A", t0, waitLong)
		if err != nil {
			t.Fatal(err)
		}
		if r.Src != vip {
			t.Errorf("answer source: got %v, want the VIP %v", r.Src, vip)
		}
		t.Logf("first answer from A %v after adding the VIP (rtt %v)", r.Received.Sub(t0), r.Received.Sub(r.Sent))
		checkARP(t, b, vip, "A")
		checkHTTP(t, b, vip, "A")
	})

	t.Run("VIP moves to B", func(t *testing.T) {
		t0 := time.Now()
		ip(t, b, "A", "addr", "del", vip.String()+"/32", "dev", "eth0")
		ip(t, b, "B", "addr", "add", vip.String()+"/32", "dev", "eth0")
		// No arping here: flushing the client's entry stands in for the
		// gratuitous ARP had will send.
		if err := b.FlushARP("C"); err != nil {
			t.Fatal(err)
		}
		r, err := pr.FirstReplyFrom("B", t0, waitLong)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("first answer from B %v after the move", r.Received.Sub(t0))
		checkARP(t, b, vip, "B")
		checkHTTP(t, b, vip, "B")
		for _, g := range Gaps(pr.Replies(), 20*time.Millisecond) {
			t.Logf("gap %v: %s -> %s", g.Len(), g.Before.Node, g.After.Node)
		}
	})

	t.Run("serial line", func(t *testing.T) {
		fA, fB := openTTY(t, b.TTY("A")), openTTY(t, b.TTY("B"))
		checkSerial(t, fA, fB, "A to B")
		checkSerial(t, fB, fA, "B to A")

		if err := b.CutSerial(); err != nil {
			t.Fatal(err)
		}
		// The old ends hang up; the links are gone (a dangling one could
		// reach a pty that reused the number).
		for _, l := range []string{b.TTY("A"), b.TTY("B")} {
			if _, err := os.Lstat(l); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("link %s after the cut: got %v, want it removed", l, err)
			}
		}
		if err := poll(waitLong, func() (bool, error) {
			_, err := fA.Write([]byte("x"))
			return err != nil, nil
		}); err != nil {
			t.Errorf("write on a cut line: still accepted: %v", err)
		}
		if f, err := os.OpenFile(b.TTY("A"), os.O_RDWR|syscall.O_NOCTTY, 0); err == nil {
			f.Close()
			t.Errorf("open %s on a cut line: got success, want an error", b.TTY("A"))
		}
		fA.Close()
		fB.Close()

		if err := b.RestoreSerial(); err != nil {
			t.Fatal(err)
		}
		fA, fB = openTTY(t, b.TTY("A")), openTTY(t, b.TTY("B"))
		defer fA.Close()
		defer fB.Close()
		checkSerial(t, fA, fB, "A to B after restore")
	})

	t.Run("cut UDP", func(t *testing.T) {
		if !udpPasses(t, b, "A", b.Addr("B"), waitLong) {
			t.Fatal("A to B before the cut: blocked")
		}
		if err := b.CutUDP(); err != nil {
			t.Fatal(err)
		}
		if udpPasses(t, b, "A", b.Addr("B"), waitShort) {
			t.Error("A to B after CutUDP: passed, want blocked")
		}
		if udpPasses(t, b, "B", b.Addr("A"), waitShort) {
			t.Error("B to A after CutUDP: passed, want blocked")
		}
		if !udpPasses(t, b, "C", b.Addr("A"), waitLong) {
			t.Error("C to A after CutUDP: blocked, want passed")
		}
		if _, err := pr.FirstReplyFrom("B", time.Now(), waitLong); err != nil {
			t.Errorf("client to VIP on B after CutUDP: %v", err)
		}
		if !udpPasses(t, b, "A", b.DirectAddr("B"), waitLong) {
			t.Error("direct link A to B after CutUDP: blocked, want passed")
		}
		if err := b.RestoreUDP(); err != nil {
			t.Fatal(err)
		}
		if !udpPasses(t, b, "A", b.Addr("B"), waitLong) {
			t.Error("A to B after RestoreUDP: blocked")
		}
	})

	t.Run("cut direct link", func(t *testing.T) {
		if !udpPasses(t, b, "A", b.DirectAddr("B"), waitLong) {
			t.Fatal("direct A to B before the cut: blocked")
		}
		if err := b.CutDirect(); err != nil {
			t.Fatal(err)
		}
		if udpPasses(t, b, "A", b.DirectAddr("B"), waitShort) {
			t.Error("direct A to B after CutDirect: passed, want blocked")
		}
		if !udpPasses(t, b, "A", b.Addr("B"), waitLong) {
			t.Error("LAN A to B after CutDirect: blocked, want passed")
		}
		if err := b.RestoreDirect(); err != nil {
			t.Fatal(err)
		}
		if !udpPasses(t, b, "A", b.DirectAddr("B"), waitLong) {
			t.Error("direct A to B after RestoreDirect: blocked")
		}
	})

	t.Run("power off B", func(t *testing.T) {
		// A supervisor-like tree: a shell with a child of its own.
		if _, err := b.Start("B", "tree", []string{"sh", "-c", "sleep 1000 & sleep 1000; true"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := poll(waitLong, func() (bool, error) {
			pids, err := b.PIDs("B")
			return len(pids) >= 4, err // echod, sh, 2× sleep
		}); err != nil {
			pids, _ := b.PIDs("B")
			t.Fatalf("processes in B: got %v, want 4: %v", pids, err)
		}
		t0 := time.Now()
		if err := b.PowerOff("B"); err != nil {
			t.Fatal(err)
		}
		t.Logf("power off took %v", time.Since(t0))
		if pids, err := b.PIDs("B"); err != nil || len(pids) != 0 {
			t.Errorf("processes in B after PowerOff: got %v (%v), want none", pids, err)
		}
		if err := echodB.Wait(waitLong); err == nil {
			t.Error("echod in B: exited cleanly, want killed")
		}
		if out := ipOut(t, b, "B", "-4", "addr", "show", "dev", "eth0"); strings.Contains(out, vip.String()) {
			t.Errorf("B still holds the VIP after PowerOff:\n%s", out)
		}
		if out := ipOut(t, b, "A", "link", "show", "dev", "eth1"); !strings.Contains(out, "NO-CARRIER") {
			t.Errorf("A's direct link after B's PowerOff: got %q, want NO-CARRIER", out)
		}
		if _, err := b.Start("B", "x", []string{"true"}, nil); !errors.Is(err, ErrPoweredOff) {
			t.Errorf("Start on a powered-off node: got %v, want ErrPoweredOff", err)
		}
		if udpPasses(t, b, "C", b.Addr("B"), waitShort) {
			t.Error("C to B while B is off: passed, want blocked")
		}

		if err := b.PowerOn("B"); err != nil {
			t.Fatal(err)
		}
		if !udpPasses(t, b, "C", b.Addr("B"), waitLong) {
			t.Error("C to B after PowerOn: blocked")
		}
		if out, err := b.Exec("B", "ip", "-4", "-o", "addr", "show", "dev", "eth0"); err != nil || !strings.Contains(out, b.Addr("B").String()+"/24") {
			t.Errorf("Exec in B after PowerOn: got %q, %v; want B's address", out, err)
		}
	})

	t.Run("accessors", func(t *testing.T) {
		for _, n := range []string{"A", "B", "C"} {
			out := ipOut(t, b, n, "link", "show", "dev", "eth0")
			if !strings.Contains(out, b.MAC(n)) {
				t.Errorf("MAC(%s): got %s, not in %q", n, b.MAC(n), out)
			}
		}
		if !b.Prefix().Contains(b.VIP(99)) || !b.Prefix().Contains(b.Addr("C")) {
			t.Errorf("prefix %v: does not hold the VIPs and nodes", b.Prefix())
		}
		if _, err := b.PIDs("D"); !errors.Is(err, ErrNode) {
			t.Errorf("PIDs(D): got %v, want ErrNode", err)
		}
	})
}

// TestCreateFailureLeavesNothing makes setup fail after the namespaces exist
// and checks that Create removed them.
func TestCreateFailureLeavesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	mine := fmt.Sprintf("%s%d-", namePrefix, os.Getpid())
	before := bedNamespaces(t, mine)
	b, err := Create(Options{Socat: "/nonexistent/socat"})
	if err == nil {
		b.Close()
		t.Fatal("Create with a missing socat: got nil error, want one")
	}
	if after := bedNamespaces(t, mine); !slices.Equal(after, before) {
		t.Errorf("namespaces after a failed Create: got %v, want %v", after, before)
	}
}

// ip runs `ip -n NS args…` for node and fails the test on error.
func ip(t *testing.T, b *Bed, node string, args ...string) {
	t.Helper()
	ipOut(t, b, node, args...)
}

func ipOut(t *testing.T, b *Bed, node string, args ...string) string {
	t.Helper()
	out, err := run("ip", append([]string{"-n", b.NS(node)}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkARP waits for the client's entry for vip to carry node's MAC.
func checkARP(t *testing.T, b *Bed, vip netip.Addr, node string) {
	t.Helper()
	var mac, state string
	err := poll(waitLong, func() (bool, error) {
		var err error
		mac, state, err = b.ARP(vip)
		return err == nil && mac == b.MAC(node), nil
	})
	if err != nil {
		t.Errorf("client ARP for %v: got %q %s, want %s's MAC %s", vip, mac, state, node, b.MAC(node))
	}
}

func checkHTTP(t *testing.T, b *Bed, vip netip.Addr, node string) {
	t.Helper()
	body, err := b.HTTPGet("http://" + netip.AddrPortFrom(vip, 8080).String() + "/")
	if want := "served by " + node + "\n"; err != nil || body != want {
		t.Errorf("HTTP GET of the VIP: got %q, %v; want %q", body, err, want)
	}
}

// udpPasses reports whether a datagram sent from node from to dst:9999
// arrives within wait; it sends one every 10 ms meanwhile (ARP may need a
// few rounds). The receiver runs in whichever node owns dst.
func udpPasses(t *testing.T, b *Bed, from string, dst netip.Addr, wait time.Duration) bool {
	t.Helper()
	to := ""
	for _, n := range []string{"A", "B", "C"} {
		if b.Addr(n) == dst || (n != "C" && b.DirectAddr(n) == dst) {
			to = n
		}
	}
	var rx, tx *net.UDPConn
	if err := b.InNS(to, func() (err error) { rx, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 9999}); return }); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if err := b.InNS(from, func() (err error) { tx, err = net.ListenUDP("udp4", nil); return }); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()

	got := make(chan struct{})
	go func() {
		_ = rx.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 16)
		if n, _, err := rx.ReadFromUDPAddrPort(buf); err == nil && string(buf[:n]) == "hb" {
			close(got)
		}
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for {
		_, _ = tx.WriteToUDPAddrPort([]byte("hb"), netip.AddrPortFrom(dst, 9999))
		select {
		case <-got:
			return true
		case <-deadline:
			return false
		case <-tick.C:
		}
	}
}

// openTTY opens one end of the serial line non-blocking, so that read
// deadlines work.
func openTTY(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("open tty: %v", err)
	}
	return f
}

// checkSerial writes a message on w and expects it whole on r.
func checkSerial(t *testing.T, w, r *os.File, what string) {
	t.Helper()
	msg := []byte("hello over serial " + what)
	if _, err := w.Write(msg); err != nil {
		t.Fatalf("serial %s: write: %v", what, err)
	}
	_ = r.SetReadDeadline(time.Now().Add(waitLong))
	var got []byte
	buf := make([]byte, 256)
	for len(got) < len(msg) {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("serial %s: read: got %q then %v", what, got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != string(msg) {
		t.Errorf("serial %s: got %q, want %q", what, got, msg)
	}
}

// TestOddDirName: t.TempDir() keeps characters like ", ()" from the test's
// name, which socat would misread; the serial line must work anyway.
func TestOddDirName(t *testing.T) {
	t.Run("a, b (c)", func(t *testing.T) {
		b := New(t, Options{})
		fA, fB := openTTY(t, b.TTY("A")), openTTY(t, b.TTY("B"))
		defer fA.Close()
		defer fB.Close()
		checkSerial(t, fA, fB, "A to B")
	})
}
