package main

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// listenUDP opens the UDP sockets for addr. A wildcard address ("" or ":7")
// gets one IPv4 and, when the node has IPv6, one IPv6-only socket, so both
// VIP families are answered.
func listenUDP(addr string) ([]*net.UDPConn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("parse udp address %q: %w", addr, err)
	}
	if host != "" {
		c, err := listenFamily("udp", addr)
		if err != nil {
			return nil, err
		}
		return []*net.UDPConn{c}, nil
	}
	c4, err := listenFamily("udp4", addr)
	if err != nil {
		return nil, err
	}
	c6, err := listenFamily("udp6", addr)
	if err != nil {
		return []*net.UDPConn{c4}, nil // no IPv6 in this namespace: IPv4 only
	}
	return []*net.UDPConn{c4, c6}, nil
}

// listenFamily binds one socket and asks the kernel for the destination
// address of every datagram (IP_PKTINFO), so that the answer leaves from the
// address the client used, the VIP, and not from the node's primary address;
// a client with a connected socket would otherwise drop it.
func listenFamily(network, addr string) (*net.UDPConn, error) {
	c, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", network, addr, err)
	}
	uc := c.(*net.UDPConn)
	rc, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, fmt.Errorf("get raw conn: %w", err)
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if uc.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		}
	})
	if err = errors.Join(err, serr); err != nil {
		uc.Close()
		return nil, fmt.Errorf("set pktinfo on %s: %w", addr, err)
	}
	return uc, nil
}

// serveUDP answers every datagram with "NAME " followed by the request, until
// c is closed.
func serveUDP(c *net.UDPConn, name string) error {
	buf := make([]byte, 64*1024)
	oob := make([]byte, 256)
	prefix := []byte(name + " ")
	out := make([]byte, 0, len(buf)+len(prefix))
	for {
		n, oobn, _, from, err := c.ReadMsgUDPAddrPort(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			continue // e.g. ICMP errors reported on the socket: keep serving
		}
		out = append(append(out[:0], prefix...), buf[:n]...)
		// A failed send (peer gone) only loses this answer.
		_, _, _ = c.WriteMsgUDPAddrPort(out, replyOOB(oob[:oobn]), from)
	}
}

// replyOOB turns the received packet-info message into one that makes the
// kernel send from the address the datagram was sent to. Nil when there is
// none, so the kernel picks the source.
func replyOOB(oob []byte) []byte {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= 12:
			var info unix.Inet4Pktinfo
			copy(info.Spec_dst[:], m.Data[8:12]) // ipi_addr: the header's destination
			if info.Spec_dst[0] >= 224 {
				return nil // multicast or limited broadcast: not a valid source
			}
			return unix.PktInfo4(&info)
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= 16:
			var info unix.Inet6Pktinfo
			copy(info.Addr[:], m.Data[:16])
			if info.Addr[0] == 0xff {
				return nil // multicast destination: not a valid source
			}
			return unix.PktInfo6(&info)
		}
	}
	return nil
}
