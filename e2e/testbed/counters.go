package testbed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// LinkCounters are an interface's traffic counters. On a veth, bytes are
// whole Ethernet frames without preamble and FCS.
type LinkCounters struct {
	RxBytes, TxBytes     uint64
	RxPackets, TxPackets uint64
}

// Counters reads the counters of interface ifname in node's namespace (A,
// B, C, or "SW" for the switch and its ports pA, pB, pC).
func (b *Bed) Counters(node, ifname string) (LinkCounters, error) {
	ns, err := b.nsOf(node)
	if err != nil {
		return LinkCounters{}, err
	}
	h, err := netns.GetFromName(ns)
	if err != nil {
		return LinkCounters{}, fmt.Errorf("read counters of %s in %s: %w", ifname, node, err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return LinkCounters{}, fmt.Errorf("read counters of %s in %s: %w", ifname, node, err)
	}
	defer nh.Close()
	l, err := nh.LinkByName(ifname)
	if err != nil {
		return LinkCounters{}, fmt.Errorf("read counters of %s in %s: %w", ifname, node, err)
	}
	s := l.Attrs().Statistics
	if s == nil {
		return LinkCounters{}, fmt.Errorf("read counters of %s in %s: no statistics", ifname, node)
	}
	return LinkCounters{RxBytes: s.RxBytes, TxBytes: s.TxBytes, RxPackets: s.RxPackets, TxPackets: s.TxPackets}, nil
}

// ErrSerialCut: the serial line is cut (no socat runs).
var ErrSerialCut = errors.New("testbed: serial line is cut")

// SerialBytes is how many bytes the serial line has carried so far, both
// directions together: what socat, the line, has read from the two ptys
// (rchar of /proc/PID/io; socat reads nothing else once running).
func (b *Bed) SerialBytes() (uint64, error) {
	b.mu.Lock()
	p := b.socat
	b.mu.Unlock()
	if p == nil {
		return 0, ErrSerialCut
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/io")
	if err != nil {
		return 0, fmt.Errorf("read serial line counters: %w", err)
	}
	n, ok := procIOField(data, "rchar")
	if !ok {
		return 0, fmt.Errorf("read serial line counters: no rchar in /proc/%d/io", p.PID)
	}
	return n, nil
}

// procIOField reads one "name: value" line of /proc/PID/io.
func procIOField(data []byte, name string) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == name {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
