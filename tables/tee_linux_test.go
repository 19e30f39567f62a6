package tables

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var (
	teeOnce sync.Once
	teeBin  string
	teeErr  error
)

// buildTee builds had-tee once for the test binary.
func buildTee(t *testing.T) string {
	t.Helper()
	teeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "had-tee-test")
		if err != nil {
			teeErr = err
			return
		}
		teeBin = filepath.Join(dir, "had-tee")
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", teeBin, "./cmd/had-tee").CombinedOutput()
		if err != nil {
			teeErr = fmt.Errorf("go build had-tee: %v: %s", err, out)
		}
	})
	if teeErr != nil {
		t.Fatal(teeErr)
	}
	return teeBin
}

// udpListener is a receiver: it reports what it gets.
func udpListener(t *testing.T, addr string) (*net.UDPConn, netip.AddrPort) {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// expect reads one datagram within a second and compares it.
func expect(t *testing.T, c *net.UDPConn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != want {
		t.Errorf("receiver %s: got %q, %v, want %q", c.LocalAddr(), buf[:n], err, want)
	}
}

// freePort returns a UDP port free on 127.0.0.1 just now.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func sendUDP(t *testing.T, to, payload string) {
	t.Helper()
	c, err := net.Dial("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
}

// teePID returns the pid in the tee's pid file, or 0.
func teePID(t *testing.T, e *teeEntry) int {
	t.Helper()
	b, err := os.ReadFile(e.pidFile())
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// TestTee runs a real had-tee on loopback: it relays one datagram, payload
// intact, to two listeners; Start and Stop are idempotent; a Start with
// other addresses restarts it; Stop never kills a process that is not
// this tee, whatever the pid file says.
func TestTee(t *testing.T) {
	bin := buildTee(t)
	dir := t.TempDir()
	r1, a1 := udpListener(t, "127.0.0.1:0")
	r2, a2 := udpListener(t, "127.0.0.1:0")
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	line := fmt.Sprintf("tee listen=%s to=%s,%s run_dir=%s bin=%s name=t1\n", listen, a1, a2, dir, bin)
	tb, err := Parse("t.table", []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	e := tb.Entries[0].(*teeEntry)
	log := zerolog.New(zerolog.NewTestWriter(t))
	ctx := t.Context()
	deps := Deps{}

	begin := time.Now()
	if err := tb.Start(ctx, log, deps); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start (spawn until bound) took %v", time.Since(begin))
	pid := teePID(t, e)
	if pid == 0 {
		t.Fatal("no pid file after Start")
	}
	killLater(t, pid)
	if got := cmdline(pid); len(got) == 0 || filepath.Base(got[0]) != "had-tee" {
		t.Fatalf("pid %d runs %q, want had-tee", pid, got)
	}
	if sid, _ := getsid(pid); sid != pid {
		t.Errorf("had-tee's session: got %d, want its own (%d)", sid, pid)
	}
	payload := "request 1 \x00\xff with bytes"
	sendUDP(t, listen, payload)
	expect(t, r1, payload)
	expect(t, r2, payload)

	if err := tb.Start(ctx, log, deps); err != nil {
		t.Fatalf("Start again: %v", err)
	}
	if got := teePID(t, e); got != pid {
		t.Errorf("Start of a running tee: pid %d, want %d (the same process)", got, pid)
	}

	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !deadOrZombie(pid) {
		t.Errorf("had-tee %d still runs after Stop", pid)
	}
	if _, err := os.Stat(e.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after Stop: %v, want gone", err)
	}
	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Errorf("Stop again: %v", err)
	}
	logText, _ := os.ReadFile(e.logFile())
	if !strings.Contains(string(logText), `"received":1`) {
		t.Errorf("had-tee's log lacks its counts:\n%s", logText)
	}

	// Another destination list: the running tee is replaced.
	if err := tb.Start(ctx, log, deps); err != nil {
		t.Fatal(err)
	}
	old := teePID(t, e)
	killLater(t, old)
	tb2, err := Parse("t.table", []byte(fmt.Sprintf("tee listen=%s to=%s run_dir=%s bin=%s name=t1\n", listen, a2, dir, bin)))
	if err != nil {
		t.Fatal(err)
	}
	if err := tb2.Start(ctx, log, deps); err != nil {
		t.Fatalf("Start with other arguments: %v", err)
	}
	now := teePID(t, tb2.Entries[0].(*teeEntry))
	killLater(t, now)
	if now == old || !deadOrZombie(old) {
		t.Errorf("restart: old pid %d (gone: %v), new %d", old, deadOrZombie(old), now)
	}
	sendUDP(t, listen, "only to r2")
	expect(t, r2, "only to r2")
	if err := tb2.Stop(ctx, log, deps); err != nil {
		t.Fatal(err)
	}

	// A pid file naming some other process (here: this test) is stale.
	if err := os.WriteFile(e.pidFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Errorf("Stop with a stale pid file: %v", err)
	}
	if _, err := os.Stat(e.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale pid file: %v, want removed", err)
	}
}

func getsid(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3
	return strconv.Atoi(f[3])                                // field 6: session
}

// TestTeeBindFailure: a tee that cannot bind fails the Start with its
// own words, and leaves nothing running.
func TestTeeBindFailure(t *testing.T) {
	bin := buildTee(t)
	dir := t.TempDir()
	_, busy := udpListener(t, "127.0.0.1:0") // the port is taken
	tb, err := Parse("t.table", fmt.Appendf(nil, "tee listen=%s to=127.0.0.1:9 run_dir=%s bin=%s name=t2\n", busy, dir, bin))
	if err != nil {
		t.Fatal(err)
	}
	tb.Policy.StopRetries = 0
	err = tb.Start(t.Context(), zerolog.Nop(), Deps{})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("got %v, want the bind error from had-tee's log", err)
	}
	t.Logf("Start: %v", err)
	if pid := teePID(t, tb.Entries[0].(*teeEntry)); pid != 0 {
		t.Errorf("pid file left with %d", pid)
	}
	// A missing binary is reported at once.
	tb, err = Parse("t.table", fmt.Appendf(nil, "tee listen=127.0.0.1:9 to=127.0.0.1:10 run_dir=%s bin=%s/none name=t3\n", dir, dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Start(t.Context(), zerolog.Nop(), Deps{}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing binary: got %v, want ErrNotExist", err)
	}
}

// TestNamespaceTee runs the seed-003 set-up: node A (ns1) holds the VIP and
// runs the tee; the application's receivers listen on both nodes (ns1 and
// ns2); a client (in ns2) sends one datagram to the VIP, and both
// receivers get it. had-tee runs inside ns1 through a wrapper that execs
// it there (`ip netns exec`), so its pid is the one Start sees.
func TestNamespaceTee(t *testing.T) {
	p := newPair(t)
	run(t, "-n", p.ns1, "link", "set", "lo", "up") // node A delivers to itself through lo
	bin := buildTee(t)
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "had-tee-in-ns")
	if err := os.WriteFile(wrapper, fmt.Appendf(nil, "#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n", p.ns1, bin), 0o755); err != nil {
		t.Fatal(err)
	}
	b := p.vip.As4()
	node1 := netip.AddrFrom4([4]byte{b[0], b[1], b[2], 1})
	node2 := netip.AddrFrom4([4]byte{b[0], b[1], b[2], 2})
	// Sockets belong to the namespace of the thread that opens them.
	listenIn := func(ns string, a netip.Addr) *net.UDPConn {
		var c *net.UDPConn
		var err error
		inNS(t, ns, func() { c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 5001))) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	r1, r2 := listenIn(p.ns1, node1), listenIn(p.ns2, node2)

	tb, err := Parse("ns.table", fmt.Appendf(nil, `vip %s/32 dev=%s garp_count=1
tee listen=%s:5000 to=%s:5001,%s:5001 run_dir=%s bin=%s
`, p.vip, p.dev1, p.vip, node1, node2, dir, wrapper))
	if err != nil {
		t.Fatal(err)
	}
	deps := Deps{Addrs: NewNetlinkAddrs(p.h1), Announcer: p.announcer(t)}
	log := zerolog.New(zerolog.NewTestWriter(t))
	ctx := t.Context()
	if err := tb.Start(ctx, log, deps); err != nil {
		t.Fatalf("Start: %v", err)
	}
	pid := teePID(t, tb.Entries[1].(*teeEntry))
	killLater(t, pid)
	if got := cmdline(pid); len(got) == 0 || got[0] != bin {
		t.Errorf("pid %d runs %q, want %s", pid, got, bin)
	}
	var c net.Conn
	inNS(t, p.ns2, func() { c, err = net.Dial("udp", p.vip.String()+":5000") })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("radar track 42")); err != nil {
		t.Fatal(err)
	}
	expect(t, r1, "radar track 42")
	expect(t, r2, "radar track 42")
	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if t.Failed() {
		b, _ := os.ReadFile(tb.Entries[1].(*teeEntry).logFile())
		t.Logf("had-tee's log:\n%s", b)
	}
	if !deadOrZombie(pid) {
		t.Errorf("had-tee %d still runs after Stop", pid)
	}
}
