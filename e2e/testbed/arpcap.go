package testbed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ARPPacket is one ARP packet a node's eth0 received.
type ARPPacket struct {
	Op        uint16 // 1 request, 2 reply
	SenderMAC string // lower case with colons
	SenderIP  netip.Addr
	TargetMAC string
	TargetIP  netip.Addr
}

// Gratuitous reports whether p announces its sender's own address (both
// forms of RFC 5227's announcement: sender and target IP are the same).
func (p ARPPacket) Gratuitous() bool { return p.SenderIP.IsValid() && p.SenderIP == p.TargetIP }

// arpHeaderLen is the Ethernet header (14) plus an IPv4-over-Ethernet ARP
// body (28).
const arpHeaderLen = 14 + 28

// parseARP decodes an Ethernet frame carrying IPv4-over-Ethernet ARP.
func parseARP(frame []byte) (ARPPacket, bool) {
	if len(frame) < arpHeaderLen || binary.BigEndian.Uint16(frame[12:14]) != unix.ETH_P_ARP {
		return ARPPacket{}, false
	}
	a := frame[14:]
	// htype Ethernet, ptype IPv4, hlen 6, plen 4.
	if binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != unix.ETH_P_IP || a[4] != 6 || a[5] != 4 {
		return ARPPacket{}, false
	}
	return ARPPacket{
		Op:        binary.BigEndian.Uint16(a[6:8]),
		SenderMAC: net.HardwareAddr(a[8:14]).String(),
		SenderIP:  netip.AddrFrom4([4]byte(a[14:18])),
		TargetMAC: net.HardwareAddr(a[18:24]).String(),
		TargetIP:  netip.AddrFrom4([4]byte(a[24:28])),
	}, true
}

// ARPCapture records every ARP packet a node's eth0 receives, each with the
// kernel's receive time (SO_TIMESTAMPNS, the wall clock), so a benchmark
// can tell when the first gratuitous ARP for a moved address reached the
// client without the capture's own scheduling in the figure.
type ARPCapture struct {
	f    *os.File
	log  *eventLog[ARPPacket]
	done chan struct{}
}

// CaptureARP starts capturing ARP on node's eth0 (normally "C", the
// client). The bed stops it on Close; Stop stops it sooner.
func (b *Bed) CaptureARP(node string) (*ARPCapture, error) {
	var fd int
	err := b.InNS(node, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return fmt.Errorf("find eth0: %w", err)
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return fmt.Errorf("open packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket to eth0: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			unix.Close(fd)
			return fmt.Errorf("ask for receive timestamps: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("capture arp in %s: %w", node, err)
	}
	c := &ARPCapture{f: os.NewFile(uintptr(fd), "arp-capture"), log: newEventLog[ARPPacket]("arp packet"), done: make(chan struct{})}
	go c.read()
	b.mu.Lock()
	b.captures = append(b.captures, c)
	b.mu.Unlock()
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// read records packets until the socket is closed.
func (c *ARPCapture) read() {
	defer close(c.done)
	rc, err := c.f.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 1600)
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))
	for {
		var n, oobn int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err != nil {
			return // closed
		}
		if rerr != nil {
			continue
		}
		at := time.Now()
		if ts, ok := rxTime(oob[:oobn]); ok {
			at = ts
		}
		if p, ok := parseARP(buf[:n]); ok {
			c.log.add(at, p)
		}
	}
}

// rxTime finds the SCM_TIMESTAMPNS control message.
func rxTime(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix()), true
		}
	}
	return time.Time{}, false
}

// First waits up to timeout for the first packet received after the
// instant after that match accepts, and returns it with its receive time.
func (c *ARPCapture) First(after time.Time, timeout time.Duration, match func(ARPPacket) bool) (time.Time, ARPPacket, error) {
	return c.log.first(after, timeout, match)
}

// Stop closes the socket; what was captured stays readable. Safe to call
// twice.
func (c *ARPCapture) Stop() {
	if c.f.Close() == nil {
		<-c.done
		c.log.stop()
	}
}
