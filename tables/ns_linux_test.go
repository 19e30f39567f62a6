package tables

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// pair is two namespaces joined by a veth pair: ns1/dev1 holds 10.213.x.1/24
// and ns2/dev2 10.213.x.2/24; vip (10.213.x.100) is free.
type pair struct {
	ns1, ns2   string
	dev1, dev2 string
	h1, h2     *netlink.Handle
	mac1       net.HardwareAddr
	idx2       int
	vip        netip.Addr
}

var nsCounter atomic.Int32

func run(tb testing.TB, args ...string) {
	tb.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		tb.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newPair makes the namespaces, removed again by Cleanup whatever happens.
// Root only.
func newPair(tb testing.TB) *pair {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create network namespaces")
	}
	id := fmt.Sprintf("%d%d", os.Getpid()%100000, nsCounter.Add(1))
	x := os.Getpid() % 250
	p := &pair{
		ns1: "htabA" + id, ns2: "htabB" + id,
		dev1: "hta" + id, dev2: "htb" + id,
		vip: netip.AddrFrom4([4]byte{10, 213, byte(x), 100}),
	}
	for _, ns := range []string{p.ns1, p.ns2} {
		run(tb, "netns", "add", ns)
		tb.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	run(tb, "-n", p.ns1, "link", "add", p.dev1, "type", "veth", "peer", "name", p.dev2, "netns", p.ns2)
	run(tb, "-n", p.ns1, "addr", "add", fmt.Sprintf("10.213.%d.1/24", x), "dev", p.dev1)
	run(tb, "-n", p.ns2, "addr", "add", fmt.Sprintf("10.213.%d.2/24", x), "dev", p.dev2)
	run(tb, "-n", p.ns1, "link", "set", p.dev1, "up")
	run(tb, "-n", p.ns2, "link", "set", p.dev2, "up")
	for i, ns := range []string{p.ns1, p.ns2} {
		h, err := netns.GetFromName(ns)
		if err != nil {
			tb.Fatalf("open %s: %v", ns, err)
		}
		nh, err := netlink.NewHandleAt(h)
		h.Close()
		if err != nil {
			tb.Fatalf("netlink handle in %s: %v", ns, err)
		}
		tb.Cleanup(nh.Close)
		if i == 0 {
			p.h1 = nh
		} else {
			p.h2 = nh
		}
	}
	l1, err := p.h1.LinkByName(p.dev1)
	if err != nil {
		tb.Fatal(err)
	}
	l2, err := p.h2.LinkByName(p.dev2)
	if err != nil {
		tb.Fatal(err)
	}
	p.mac1, p.idx2 = l1.Attrs().HardwareAddr, l2.Attrs().Index
	return p
}

// inNS runs fn on a thread inside the named namespace: how the test opens
// the announcer's packet socket where production opens it, in the node's
// own namespace.
func inNS(tb testing.TB, name string, fn func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			tb.Errorf("get namespace: %v", err)
			return // the thread stays locked and dies with the goroutine
		}
		defer orig.Close()
		ns, err := netns.GetFromName(name)
		if err != nil {
			tb.Errorf("open %s: %v", name, err)
			runtime.UnlockOSThread()
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			tb.Errorf("enter %s: %v", name, err)
			return
		}
		fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
}

func (p *pair) announcer(tb testing.TB) *RawAnnouncer {
	tb.Helper()
	var a *RawAnnouncer
	var err error
	inNS(tb, p.ns1, func() { a, err = NewRawAnnouncer(p.h1) })
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return a
}

// poison points ns2's neighbour entry for the VIP at a MAC no one has, as
// if another node had held the VIP.
func (p *pair) poison(tb testing.TB) {
	tb.Helper()
	run(tb, "-n", p.ns2, "neigh", "replace", p.vip.String(), "lladdr", bogusMAC, "dev", p.dev2, "nud", "reachable")
	if got := p.neigh(tb); got != bogusMAC {
		tb.Fatalf("ns2's entry for the VIP after poisoning: got %q, want %s", got, bogusMAC)
	}
}

const bogusMAC = "02:00:00:00:00:01"

// neigh returns the MAC ns2 has for the VIP ("" when it has no entry).
func (p *pair) neigh(tb testing.TB) string {
	tb.Helper()
	ns, err := p.h2.NeighList(p.idx2, netlink.FAMILY_V4)
	if err != nil {
		tb.Fatalf("list neighbours: %v", err)
	}
	for _, n := range ns {
		if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == p.vip {
			return n.HardwareAddr.String()
		}
	}
	return ""
}

// waitNeigh waits until ns2 believes the VIP is at ns1's MAC.
func (p *pair) waitNeigh(t *testing.T) {
	t.Helper()
	waitFor(t, 3*time.Second, "ns2 learning the VIP's MAC", func() bool { return p.neigh(t) == p.mac1.String() })
}

func TestNamespaceVIP(t *testing.T) {
	p := newPair(t)
	deps := Deps{Addrs: NewNetlinkAddrs(p.h1), Announcer: p.announcer(t)}
	vip := netip.PrefixFrom(p.vip, 32)
	tb, err := Parse("ns.table", fmt.Appendf(nil, "vip %s dev=%s garp_count=1\n", vip, p.dev1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	log := zerolog.New(zerolog.NewTestWriter(t))

	p.poison(t)
	if err := tb.Start(ctx, log, deps); err != nil {
		t.Fatalf("Start: %v", err)
	}
	addrs, err := p.h1.AddrList(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: mustIndex(t, p.h1, p.dev1)}}, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range addrs {
		if a.IPNet.String() == vip.String() {
			found = true
			if want := DefaultLabel(p.dev1); a.Label != want {
				t.Errorf("label: got %q, want %q", a.Label, want)
			}
		}
	}
	if !found {
		t.Errorf("address %s not on %s after Start: %v", vip, p.dev1, addrs)
	}
	p.waitNeigh(t)

	if err := tb.Start(ctx, log, deps); err != nil {
		t.Errorf("Start again: %v", err)
	}
	p.poison(t)
	if err := tb.Reannounce(ctx, log, deps); err != nil {
		t.Errorf("Reannounce: %v", err)
	}
	p.waitNeigh(t)

	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if held, err := deps.Addrs.Has(p.dev1, vip); held || err != nil {
		t.Errorf("after Stop: Has = %v, %v, want false, nil", held, err)
	}
	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Errorf("Stop again: %v", err)
	}
	if err := tb.Reannounce(ctx, log, deps); err != nil {
		t.Errorf("Reannounce of a released VIP: %v", err)
	}
}

func mustIndex(t *testing.T, h *netlink.Handle, dev string) int {
	t.Helper()
	l, err := h.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Index
}

// TestNamespaceGARPForms checks that Linux takes each form on its own.
func TestNamespaceGARPForms(t *testing.T) {
	p := newPair(t)
	a := p.announcer(t)
	sa := &unix.SockaddrLinklayer{Protocol: htons(etherTypeARP), Ifindex: mustIndex(t, p.h1, p.dev1), Halen: 6}
	copy(sa.Addr[:], broadcastMAC[:])
	for _, op := range []ARPOp{ARPRequest, ARPReply} {
		t.Run(fmt.Sprint(op), func(t *testing.T) {
			p.poison(t)
			f := BuildGARP(op, [6]byte(p.mac1), p.vip.As4())
			if err := unix.Sendto(a.fd, f[:], 0, sa); err != nil {
				t.Fatal(err)
			}
			p.waitNeigh(t)
		})
	}
}

// TestNamespaceAddrs checks the netlink Addrs on its own: idempotent add
// and delete, prefix lengths told apart, a missing device.
func TestNamespaceAddrs(t *testing.T) {
	p := newPair(t)
	a := NewNetlinkAddrs(p.h1)
	v32 := netip.PrefixFrom(p.vip, 32)
	v24 := netip.PrefixFrom(p.vip, 24)
	steps := []struct {
		name string
		do   func() error
		has  bool
	}{
		{"add", func() error { return a.Add(p.dev1, v32, "") }, true},
		{"add again", func() error { return a.Add(p.dev1, v32, "") }, true},
		{"relabel", func() error { return a.Add(p.dev1, v32, p.dev1+":x") }, true},
		{"delete another length", func() error { return a.Del(p.dev1, v24) }, true},
		{"delete", func() error { return a.Del(p.dev1, v32) }, false},
		{"delete again", func() error { return a.Del(p.dev1, v32) }, false},
		{"delete on a missing device", func() error { return a.Del("htnosuchdev", v32) }, false},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if held, err := a.Has(p.dev1, v32); held != s.has || err != nil {
			t.Fatalf("%s: Has = %v, %v, want %v, nil", s.name, held, err, s.has)
		}
	}
	if err := a.Add("htnosuchdev", v32, ""); err == nil {
		t.Errorf("add on a missing device: got nil, want an error")
	}
	if held, err := a.Has("htnosuchdev", v32); held || err != nil {
		t.Errorf("Has on a missing device: got %v, %v, want false, nil", held, err)
	}
}

// BenchmarkNamespaceVIPStart measures a vip's Start: netlink add plus the
// first announcement (both frames), which is what a takeover waits for.
func BenchmarkNamespaceVIPStart(b *testing.B) {
	p := newPair(b)
	deps := Deps{Addrs: NewNetlinkAddrs(p.h1), Announcer: p.announcer(b)}
	tb, err := Parse("ns.table", fmt.Appendf(nil, "vip %s/32 dev=%s garp_count=1\n", p.vip, p.dev1))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var stop time.Duration
	for b.Loop() {
		if err := tb.Start(ctx, zerolog.Nop(), deps); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		begin := time.Now()
		if err := tb.Stop(ctx, zerolog.Nop(), deps); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(begin)
		b.StartTimer()
	}
	b.ReportMetric(float64(stop.Nanoseconds())/float64(b.N), "stop-ns/op")
}
