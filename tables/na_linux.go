package tables

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Unsolicited neighbour advertisements go out through one raw ICMPv6
// socket rather than mdlayher/ndp's Conn (ndp only builds the message):
//
//   - ndp.Listen binds to an address of one interface, found through the
//     calling thread's namespace, so it would need a socket per interface,
//     opened lazily where the namespace may not be the node's;
//   - it needs a link-local address on the interface (ndp.LinkLocal), and
//     fails without one, or while that address is still tentative (the
//     first second or two after the link comes up, when DAD runs), which
//     is just when a node that has booted takes over.
//
// Here the kernel picks the source address, as it does for its own
// advertisements: the interface's link-local address when it has a usable
// one, else another of its addresses, such as the VIP itself, which was
// added without DAD and so is usable at once. Linux accepts an
// advertisement from any source (RFC 4861 §7.1.2 asks only for hop limit
// 255, a valid checksum and Solicited clear on a multicast one).

// openNASocket opens the send-only ICMPv6 socket: hop limit 255 (RFC 4861
// §7.1.2: a receiver drops anything else), no loopback of our own
// advertisements, and a filter that blocks every incoming ICMPv6 type, so
// that nothing queues up on a socket no one reads.
func openNASocket() (int, error) {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	if err != nil {
		return -1, fmt.Errorf("open ICMPv6 socket: %w", err)
	}
	var block unix.ICMPv6Filter
	for i := range block.Data {
		block.Data[i] = ^uint32(0) // a set bit blocks its type
	}
	for _, o := range []struct {
		name     string
		opt, val int
	}{
		{"IPV6_MULTICAST_HOPS", unix.IPV6_MULTICAST_HOPS, 255},
		{"IPV6_UNICAST_HOPS", unix.IPV6_UNICAST_HOPS, 255},
		{"IPV6_MULTICAST_LOOP", unix.IPV6_MULTICAST_LOOP, 0},
	} {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, o.opt, o.val); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("set %s on the ICMPv6 socket: %w", o.name, err)
		}
	}
	if err := unix.SetsockoptICMPv6Filter(fd, unix.IPPROTO_ICMPV6, unix.ICMPV6_FILTER, &block); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("set the ICMPv6 filter: %w", err)
	}
	return fd, nil
}

// announceNA sends one unsolicited advertisement of ip at mac to ff02::1
// out of the interface index ifindex. The scope id of the link-scope
// destination picks the interface; the kernel fills in the checksum of a
// raw ICMPv6 socket.
func (a *RawAnnouncer) announceNA(dev string, ifindex int, mac [6]byte, ip netip.Addr) error {
	msg, err := BuildNA(mac, ip)
	if err != nil {
		return err
	}
	sa := &unix.SockaddrInet6{Addr: allNodes.As16(), ZoneId: uint32(ifindex)}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.fd < 0:
		return ErrClosed
	case a.fd6 < 0:
		return fmt.Errorf("send neighbour advertisement for %s on %s: %w", ip, dev, a.err6)
	}
	if err := unix.Sendto(a.fd6, msg, 0, sa); err != nil {
		return fmt.Errorf("send neighbour advertisement for %s on %s: %w", ip, dev, err)
	}
	return nil
}
