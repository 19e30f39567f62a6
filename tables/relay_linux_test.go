package tables

import (
	"context"
	"fmt"
	"io"

	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestRunTee runs the relay in process: the pid file and the ready line
// come once bound; every datagram reaches the live receiver, payload
// intact, and is counted; the receiver whose port is closed makes the
// kernel report "refused", which is counted, not lost for the others; the
// pid file goes at the end.
func TestRunTee(t *testing.T) {
	live, liveAddr := udpListener(t, "127.0.0.1:0")
	deadAddr := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	listen := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	pidfile := filepath.Join(t.TempDir(), "tee.pid")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cfg := TeeConfig{Listen: listen, To: []netip.AddrPort{deadAddr, liveAddr}, PidFile: pidfile, Ready: pw}
	ctx, cancel := context.WithCancel(t.Context())
	type result struct {
		st  TeeStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := RunTee(ctx, cfg, zerolog.New(zerolog.NewTestWriter(t)))
		done <- result{st, err}
	}()
	ready, err := io.ReadAll(pr)
	if err != nil || string(ready) != "READY\n" {
		t.Fatalf("ready pipe: got %q, %v, want READY", ready, err)
	}
	if b, err := os.ReadFile(pidfile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file once ready: got %q, %v, want %d", b, err, os.Getpid())
	}
	const n = 20
	for i := range n {
		sendUDP(t, listen.String(), fmt.Sprintf("datagram %d", i))
		expect(t, live, fmt.Sprintf("datagram %d", i))
	}
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	st := r.st
	if st.Received != n || st.Forwarded[1] != n || st.Dropped[1] != 0 {
		t.Errorf("live receiver: got %+v, want %d received and forwarded, none dropped", st, n)
	}
	// Datagram i's ICMP error shows on the send of datagram i+1, which is
	// retried: most are refused once, and sent all the same.
	if st.Refused[0] == 0 || st.Forwarded[0]+st.Dropped[0] != n {
		t.Errorf("closed port: got %+v, want some refused and every datagram sent or dropped", st)
	}
	t.Logf("closed port: forwarded %d, refused %d, dropped %d", st.Forwarded[0], st.Refused[0], st.Dropped[0])
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pid file after the end: %v, want gone", err)
	}
}

func TestParseTeeConfig(t *testing.T) {
	c, err := ParseTeeConfig("10.213.0.100:5000", "10.213.0.1:5001, [2001:db8::2]:5001")
	want := []netip.AddrPort{netip.MustParseAddrPort("10.213.0.1:5001"), netip.MustParseAddrPort("[2001:db8::2]:5001")}
	if err != nil || c.Listen != netip.MustParseAddrPort("10.213.0.100:5000") || !slices.Equal(c.To, want) {
		t.Errorf("got %+v, %v", c, err)
	}
	for _, bad := range [][2]string{
		{"10.213.0.100", "10.213.0.1:5001"},
		{"10.213.0.100:0", "10.213.0.1:5001"},
		{"10.213.0.100:5000", ""},
		{"10.213.0.100:5000", "0.0.0.0:5001"},
		{"10.213.0.100:5000", "10.213.0.1:5001,"},
	} {
		if _, err := ParseTeeConfig(bad[0], bad[1]); err == nil {
			t.Errorf("ParseTeeConfig(%q, %q): got nil, want an error", bad[0], bad[1])
		}
	}
}

// FuzzParseTeeConfig: never a panic, and what parses formats back to the
// same configuration.
func FuzzParseTeeConfig(f *testing.F) {
	f.Add("10.213.0.100:5000", "10.213.0.1:5001,10.213.0.2:5001")
	f.Add("[::]:1", "[2001:db8::1%eth0]:2")
	f.Add(":5000", ",")
	f.Fuzz(func(t *testing.T, listen, to string) {
		c, err := ParseTeeConfig(listen, to)
		if err != nil {
			return
		}
		again, err := ParseTeeConfig(c.Listen.String(), addrList(c.To))
		if err != nil || again.Listen != c.Listen || !slices.Equal(again.To, c.To) {
			t.Fatalf("%+v formats to %q %q, which parses to %+v, %v", c, c.Listen, addrList(c.To), again, err)
		}
	})
}
