package tables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RawAnnouncer sends gratuitous ARP through one raw AF_PACKET socket, and
// unsolicited neighbour advertisements through one raw ICMPv6 socket
// (na_linux.go).
//
// The packet socket is opened with protocol 0, so it receives nothing
// (send-only, no ARP traffic to drain), and unlike mdlayher/arp it needs no
// IPv4 address on the interface (libraries.md §4). Both sockets belong to
// the network namespace of the thread that opened them.
type RawAnnouncer struct {
	h *netlink.Handle

	mu   sync.Mutex
	fd   int   // -1 once closed
	fd6  int   // the ICMPv6 socket; -1 when closed or unavailable
	err6 error // why there is no ICMPv6 socket
}

var _ Announcer = (*RawAnnouncer)(nil)

// ErrClosed is a use of a closed RawAnnouncer.
var ErrClosed = errors.New("tables: announcer closed")

// NewRawAnnouncer opens the socket in the calling thread's network
// namespace. Interfaces are looked up through h, or in the calling thread's
// namespace when h is nil; h must then be in the same namespace as the
// socket (tests open both inside a namespace they created).
func NewRawAnnouncer(h *netlink.Handle) (*RawAnnouncer, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open packet socket: %w", err)
	}
	a := &RawAnnouncer{h: h, fd: fd}
	// A host without IPv6 (ipv6.disable=1) still announces IPv4 addresses:
	// the error comes with the first IPv6 announcement.
	a.fd6, a.err6 = openNASocket()
	return a, nil
}

// Announce sends, for an IPv4 address, the request form, then the reply
// form of gratuitous ARP to ff:ff:ff:ff:ff:ff out of dev; for an IPv6
// address, one unsolicited neighbour advertisement to ff02::1.
func (a *RawAnnouncer) Announce(dev string, ip netip.Addr) error {
	if !ip.Is4() && !ip.Is6() || ip.Is4In6() {
		return fmt.Errorf("announce %s: not an IPv4 or IPv6 address", ip)
	}
	var link netlink.Link
	var err error
	if a.h != nil {
		link, err = a.h.LinkByName(dev)
	} else {
		link, err = netlink.LinkByName(dev)
	}
	if err != nil {
		return fmt.Errorf("look up %s: %w", dev, err)
	}
	attrs := link.Attrs()
	if len(attrs.HardwareAddr) != 6 {
		return fmt.Errorf("announce on %s: no Ethernet address (%v)", dev, attrs.HardwareAddr)
	}
	mac := [6]byte(attrs.HardwareAddr)
	if ip.Is6() {
		return a.announceNA(dev, attrs.Index, mac, ip)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(etherTypeARP), Ifindex: attrs.Index, Halen: 6}
	copy(sa.Addr[:], broadcastMAC[:])

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fd < 0 {
		return ErrClosed
	}
	for _, op := range [...]ARPOp{ARPRequest, ARPReply} {
		f := BuildGARP(op, mac, ip.As4())
		if err := unix.Sendto(a.fd, f[:], 0, sa); err != nil {
			return fmt.Errorf("send gratuitous ARP for %s on %s: %w", ip, dev, err)
		}
	}
	return nil
}

// Close closes the sockets.
func (a *RawAnnouncer) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fd < 0 {
		return nil
	}
	err := unix.Close(a.fd)
	a.fd = -1
	if a.fd6 >= 0 {
		unix.Close(a.fd6)
		a.fd6 = -1
	}
	return err
}

// htons puts a 16-bit value in network order for a sockaddr field that
// the kernel reads in network order but unix stores natively.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
