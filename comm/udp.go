package comm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
)

// UDP is an Ethernet heartbeat path: unicast datagrams to the peer's
// receiver. The receiver's socket is bound to the path's Local address
// (the receiver owns that port); the sender's socket to Local's IP with an
// ephemeral port, so that the two processes never share a port. With
// Interface set, the socket is bound to that device (SO_BINDTODEVICE), so
// the path keeps to its own NIC whatever the routing table says.
//
// Datagrams whose source IP is not the peer's are dropped and counted
// (Dropped().Foreign) before any decoding. The socket is reopened, with a
// backoff, after a failure; a missing address or device at start is such a
// failure, not a fatal error.
type UDP struct {
	name    string
	peer    netip.AddrPort
	peerIP  netip.Addr // unmapped, zone-less: what a source address is compared with
	socks   *reopener[udpSock]
	foreign atomic.Uint64
	rbuf    [wire.MaxFrame + 1]byte // one byte more tells an oversized datagram

	// Send's and Recv's system calls, built once so that they do not
	// allocate; raw (udpraw_linux.go).
	tx     []byte
	txErr  error
	txTo   *rawAddr
	sendFn func(fd uintptr) bool
	rxN    int
	rxErr  error
	rxFrom rawAddr
	recvFn func(fd uintptr) bool
}

type udpSock struct {
	conn *net.UDPConn
	raw  syscall.RawConn
}

func (s udpSock) Close() error { return s.conn.Close() }

var _ Link = (*UDP)(nil)

// ListenUDP returns the receiver's end of path p: a socket bound to
// p.Local.
func ListenUDP(p config.UDPPath, log zerolog.Logger) (*UDP, error) {
	return newUDP(p, p.Local, rxBuffer, log)
}

// DialUDP returns the sender's end of path p: a socket bound to p.Local's
// IP and an ephemeral port.
func DialUDP(p config.UDPPath, log zerolog.Logger) (*UDP, error) {
	local := netip.AddrPortFrom(p.Local.Addr(), 0)
	if !p.Local.Addr().IsValid() {
		local = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
		if p.Peer.Addr().Unmap().Is4() {
			local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		}
	}
	return newUDP(p, local, 0, log)
}

// newUDP makes the link; rcvbuf > 0 sets the socket's receive buffer.
func newUDP(p config.UDPPath, local netip.AddrPort, rcvbuf int, log zerolog.Logger) (*UDP, error) {
	peer := netip.AddrPortFrom(p.Peer.Addr().Unmap(), p.Peer.Port())
	if !peer.IsValid() {
		return nil, fmt.Errorf("open udp path %s: invalid peer address %s", p.Name, p.Peer)
	}
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	if local.Addr().Is4() != peer.Addr().Is4() {
		return nil, fmt.Errorf("open udp path %s: local %s and peer %s are of different families", p.Name, local, peer)
	}
	u := &UDP{name: p.Name, peer: peer, peerIP: peer.Addr().WithZone(""), txTo: newRawAddr(peer, zoneIndex(peer.Addr()))}
	u.sendFn = func(fd uintptr) bool {
		u.txErr = sendTo(fd, u.tx, u.txTo)
		return true // never wait for the socket to drain: busy is a drop
	}
	u.recvFn = func(fd uintptr) bool {
		u.rxN, u.rxErr = recvFrom(fd, u.rbuf[:], &u.rxFrom)
		return u.rxErr != unix.EAGAIN // else wait in the netpoller
	}
	u.socks = newReopener(p.Name, func() (udpSock, error) { return openUDP(local, p.Interface, rcvbuf) }, log)
	return u, nil
}

// zoneIndex is the interface index of an IPv6 address's zone, 0 if none.
func zoneIndex(a netip.Addr) uint32 {
	if z := a.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			return uint32(ifi.Index)
		}
	}
	return 0
}

// rxBuffer is the receiver's socket buffer. The kernel charges a datagram
// its buffer's true size, not its length: about 1 KiB for a heartbeat and
// over 100 KiB for a 64 KiB datagram reassembled from fragments, so the
// default 208 KiB (net.core.rmem_default) held two of those and a flood of
// them dropped the peer's real heartbeats whenever it was full (measured in
// e2e TestFlood). 4 MiB (doubled by the kernel) holds thousands of
// heartbeats and rides out bursts.
const rxBuffer = 4 << 20

func openUDP(local netip.AddrPort, iface string, rcvbuf int) (udpSock, error) {
	network := "udp6"
	if local.Addr().Is4() {
		network = "udp4"
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if iface == "" {
			return nil
		}
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("bind to device %s: %w", iface, serr)
		}
		return nil
	}}
	pc, err := lc.ListenPacket(context.Background(), network, local.String())
	if err != nil {
		return udpSock{}, fmt.Errorf("open udp socket on %s: %w", local, err)
	}
	conn := pc.(*net.UDPConn)
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return udpSock{}, fmt.Errorf("open udp socket on %s: %w", local, err)
	}
	if rcvbuf > 0 {
		if err := setRcvbuf(raw, rcvbuf); err != nil {
			conn.Close()
			return udpSock{}, fmt.Errorf("open udp socket on %s: %w", local, err)
		}
	}
	return udpSock{conn: conn, raw: raw}, nil
}

// setRcvbuf sets the receive buffer to n bytes: beyond net.core.rmem_max
// where the process may (SO_RCVBUFFORCE needs CAP_NET_ADMIN), else as far
// as rmem_max allows.
func setRcvbuf(raw syscall.RawConn, n int) error {
	var serr error
	err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
		if errors.Is(serr, unix.EPERM) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}
	})
	if err == nil && serr != nil {
		err = fmt.Errorf("set receive buffer to %d bytes: %w", n, serr)
	}
	return err
}

// Send sends frame to the peer without waiting: a full socket buffer is a
// drop (ErrBusy). Errors that say the network is unreachable leave the
// socket as it is; others make the path reopen it.
func (u *UDP) Send(frame []byte) error {
	x, err := u.socks.acquire()
	if err != nil {
		return fmt.Errorf("send on %s: %w", u.name, err)
	}
	u.tx = frame
	err = x.h.raw.Write(u.sendFn)
	u.tx = nil
	if err == nil {
		err = u.txErr
	}
	if err == nil || transientSendErr(err) {
		u.socks.release(x, nil)
	} else {
		u.socks.release(x, err)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EAGAIN):
		return ErrBusy
	}
	return fmt.Errorf("send on %s to %s: %w", u.name, u.peer, err)
}

// transientSendErr: the network, not the socket, is the problem.
func transientSendErr(err error) bool {
	for _, e := range []error{unix.EAGAIN, unix.ENETUNREACH, unix.EHOSTUNREACH, unix.ENETDOWN,
		unix.EHOSTDOWN, unix.ECONNREFUSED, unix.EPERM, unix.ENOBUFS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Recv returns the next datagram from the peer's IP (any port: the
// peer's sender uses an ephemeral one). A datagram longer than
// wire.MaxFrame is returned cut to wire.MaxFrame+1 bytes, which Decode
// rejects as oversized.
func (u *UDP) Recv() ([]byte, error) {
	for {
		x, err := u.socks.acquire()
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if err != nil {
			if !u.socks.wait() {
				return nil, net.ErrClosed
			}
			continue
		}
		err = x.h.raw.Read(u.recvFn)
		if err == nil {
			err = u.rxErr
		}
		n, from := u.rxN, u.rxFrom.addrPort()
		if u.socks.isClosed() {
			u.socks.release(x, nil)
			return nil, net.ErrClosed
		}
		u.socks.release(x, err)
		if err != nil {
			continue
		}
		if from.Addr().Unmap().WithZone("") != u.peerIP {
			u.foreign.Add(1)
			continue
		}
		return u.rbuf[:n], nil
	}
}

// LocalAddr is the address the socket is bound to now (invalid while the
// socket is not open).
func (u *UDP) LocalAddr() netip.AddrPort {
	x, err := u.socks.acquire()
	if err != nil {
		return netip.AddrPort{}
	}
	defer u.socks.release(x, nil)
	return x.h.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Dropped reports the datagrams from foreign addresses so far.
func (u *UDP) Dropped() Drops { return Drops{Foreign: u.foreign.Load()} }

// Close closes the socket; a blocked Recv returns.
func (u *UDP) Close() error { return u.socks.close() }
