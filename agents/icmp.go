package agents

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// errNoAnswer: no echo reply came back in time.
var errNoAnswer = errors.New("agents: no echo reply")

// icmpPinger pings over a raw ICMP socket (root or CAP_NET_RAW). Linux's
// unprivileged ping sockets need net.ipv4.ping_group_range, which is off
// by default even for root. A socket is opened per check: between checks
// nothing listens, so ICMP traffic on the node never wakes the agent.
type icmpPinger struct{}

// echoMagic marks our requests' payload, besides the random ID: a raw
// socket sees every ICMP message of the host.
var echoMagic = []byte("had-ping")

func (icmpPinger) Ping(ctx context.Context, dst netip.Addr, count int, spacing time.Duration) (time.Duration, error) {
	network, bind, proto := "ip4:icmp", "0.0.0.0", 1
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, bind, proto = "ip6:ipv6-icmp", "::", 58
		reqType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	// The socket is opened here, in the caller's goroutine: a test runs
	// Ping on a thread it has moved into a network namespace.
	c, err := icmp.ListenPacket(network, bind)
	if err != nil {
		return 0, fmt.Errorf("open ICMP socket (needs root or CAP_NET_RAW): %w", err)
	}
	defer c.Close()
	// Only echo replies reach the socket: the kernel drops the rest.
	if dst.Is6() {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		_ = c.IPv6PacketConn().SetICMPFilter(&f)
	} else {
		var f ipv4.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv4.ICMPTypeEchoReply)
		_ = c.IPv4PacketConn().SetICMPFilter(&f)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Now()) })
	defer stop()

	// Each request carries the magic and its send time (ns since start),
	// as ping does, so the reply alone gives the round trip.
	id := rand.IntN(1 << 16)
	seq0 := rand.IntN(1 << 15)
	start := time.Now()
	to := &net.IPAddr{IP: dst.AsSlice()}
	sendErr := make(chan error, 1) // the first failed send
	go func() {
		for i := 0; i < count; i++ {
			data := binary.BigEndian.AppendUint64(append([]byte(nil), echoMagic...), uint64(time.Since(start)))
			m := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq0 + i, Data: data}}
			b, err := m.Marshal(nil)
			if err == nil {
				_, err = c.WriteTo(b, to)
			}
			if err != nil {
				select {
				case sendErr <- err:
				default:
				}
			}
			if i < count-1 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(spacing):
				}
			}
		}
	}()

	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			select {
			case e := <-sendErr:
				return 0, fmt.Errorf("send echo request: %w", e)
			default:
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, fmt.Errorf("%w to %d requests", errNoAnswer, count)
			}
			return 0, fmt.Errorf("read echo reply: %w", err)
		}
		at := time.Since(start)
		ip, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		src, _ := netip.AddrFromSlice(ip.IP)
		if src.Unmap() != dst {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		if !ok || e.ID != id || e.Seq < seq0 || e.Seq >= seq0+count || len(e.Data) != len(echoMagic)+8 || !bytes.HasPrefix(e.Data, echoMagic) {
			continue
		}
		return at - time.Duration(binary.BigEndian.Uint64(e.Data[len(echoMagic):])), nil
	}
}
