package comm

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
)

func listenLoopback(t *testing.T, iface string) *UDP {
	t.Helper()
	rx, err := ListenUDP(config.UDPPath{Name: "udp0", Interface: iface,
		Local: netip.MustParseAddrPort("127.0.0.1:0"), Peer: netip.MustParseAddrPort("127.0.0.1:1")}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rx.Close() })
	if !rx.LocalAddr().IsValid() {
		t.Fatal("receiver socket did not open")
	}
	return rx
}

func dialTo(t *testing.T, from string, to netip.AddrPort) *UDP {
	t.Helper()
	tx, err := DialUDP(config.UDPPath{Name: "udp0", Local: netip.MustParseAddrPort(from), Peer: to}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Close() })
	return tx
}

func TestUDPLoopback(t *testing.T) {
	rx := listenLoopback(t, "")
	ch := recvAll(rx)
	tx := dialTo(t, "127.0.0.1:4000", rx.LocalAddr()) // the port is ignored: the sender's is ephemeral
	if got := tx.LocalAddr(); got.Port() == 4000 || got.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("sender bound to %v, want 127.0.0.1 and an ephemeral port", got)
	}
	frame := bytes.Repeat([]byte{0xab}, wire.Size)
	if err := tx.Send(frame); err != nil {
		t.Fatal(err)
	}
	expectPayload(t, ch, frame)

	// Another source address on the same host: dropped and counted.
	intruder := dialTo(t, "127.0.0.2:0", rx.LocalAddr())
	if err := intruder.Send([]byte("forged")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the foreign datagram to be counted", func() bool { return rx.Dropped().Foreign == 1 })
	tx.Send([]byte("next"))
	expectPayload(t, ch, []byte("next"))

	// An oversized datagram arrives cut to one byte more than a frame.
	raw, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")),
		net.UDPAddrFromAddrPort(rx.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write(make([]byte, wire.MaxFrame+50))
	select {
	case got := <-ch:
		if len(got) != wire.MaxFrame+1 {
			t.Errorf("oversized datagram: got %d bytes, want %d", len(got), wire.MaxFrame+1)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("oversized datagram not received")
	}

	rx.Close()
	if _, ok := <-ch; ok {
		t.Error("Recv returned a datagram after Close")
	}
	if _, err := rx.Recv(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Recv after Close: got %v, want net.ErrClosed", err)
	}
}

func TestUDPBindToDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_BINDTODEVICE needs CAP_NET_RAW")
	}
	rx := listenLoopback(t, "lo")
	ch := recvAll(rx)
	tx := dialTo(t, "127.0.0.1:0", rx.LocalAddr())
	tx.Send([]byte("on lo"))
	expectPayload(t, ch, []byte("on lo"))
}

// A missing address is an outage the link waits out, not an error that
// would make the process exit and be restarted in a loop.
func TestUDPMissingAddress(t *testing.T) {
	tx, err := DialUDP(config.UDPPath{Name: "udp9", Local: netip.MustParseAddrPort("192.0.2.77:0"),
		Peer: netip.MustParseAddrPort("192.0.2.78:7000")}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := tx.Send([]byte("x")); err == nil {
		t.Fatal("Send from an address this host does not have: got nil error")
	}
	if tx.LocalAddr().IsValid() {
		t.Error("socket open on a missing address")
	}
	if _, err := DialUDP(config.UDPPath{Name: "bad", Local: netip.MustParseAddrPort("127.0.0.1:0"),
		Peer: netip.MustParseAddrPort("[::1]:7000")}, testLog(t)); err == nil {
		t.Error("mixed address families accepted")
	}
}

// The receiver's socket buffer is big enough for a flood's bursts: the
// kernel charges a 64 KiB datagram over 100 KiB of it.
func TestUDPReceiveBuffer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_RCVBUFFORCE needs root")
	}
	rx := listenLoopback(t, "")
	x, err := rx.socks.acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer rx.socks.release(x, nil)
	var got int
	var gerr error
	if err := x.h.raw.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	if got < 2*rxBuffer { // the kernel doubles what it is given, for its overhead
		t.Errorf("receive buffer: got %d bytes, want %d", got, 2*rxBuffer)
	}
	tx := dialTo(t, "127.0.0.1:0", rx.LocalAddr())
	if x, err := tx.socks.acquire(); err == nil {
		x.h.raw.Control(func(fd uintptr) { got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
		tx.socks.release(x, nil)
		if got >= 2*rxBuffer {
			t.Errorf("the sender's socket has a receive buffer of %d bytes: it receives nothing", got)
		}
	}
}
