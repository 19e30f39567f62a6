package torture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/e2e/testbed"
)

// The monitors: who holds the VIP, as each node's kernel says it
// (netlink address events), and who answers ARP for it, as the client
// sees it. They record; verdict.go judges.

// addrMonitor follows the VIP on one node's interfaces.
type addrMonitor struct {
	node string
	vip  netip.Addr
	ns   netns.NsHandle

	mu     sync.Mutex
	events []AddrEvent
	has    bool

	done chan struct{}
	wg   sync.WaitGroup
}

func watchAddrs(bed *testbed.Bed, node string, vip netip.Addr) (*addrMonitor, error) {
	ns, err := netns.GetFromName(bed.NS(node))
	if err != nil {
		return nil, fmt.Errorf("open namespace of %s: %w", node, err)
	}
	m := &addrMonitor{node: node, vip: vip, ns: ns, done: make(chan struct{})}
	ch, err := m.subscribe()
	if err != nil {
		ns.Close()
		return nil, err
	}
	m.wg.Add(1)
	go m.run(ch)
	return m, nil
}

func (m *addrMonitor) subscribe() (chan netlink.AddrUpdate, error) {
	ch := make(chan netlink.AddrUpdate, 256)
	err := netlink.AddrSubscribeWithOptions(ch, m.done, netlink.AddrSubscribeOptions{
		Namespace:         &m.ns,
		ListExisting:      true,
		ReceiveBufferSize: 1 << 20,
		// On an error the library closes ch; run resubscribes.
		ErrorCallback: func(error) {},
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to addresses of %s: %w", m.node, err)
	}
	return ch, nil
}

func (m *addrMonitor) run(ch chan netlink.AddrUpdate) {
	defer m.wg.Done()
	for {
		select {
		case <-m.done:
			return
		case u, ok := <-ch:
			if !ok {
				// The subscription failed (ENOBUFS): start again, the
				// existing addresses listed first.
				for {
					var err error
					if ch, err = m.subscribe(); err == nil {
						break
					}
					select {
					case <-m.done:
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
				continue
			}
			ip, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if !ok || ip.Unmap() != m.vip {
				continue
			}
			m.set(u.NewAddr)
		}
	}
}

func (m *addrMonitor) set(has bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if has == m.has {
		return
	}
	m.has = has
	m.events = append(m.events, AddrEvent{At: time.Now(), Node: m.node, Has: has})
}

// Has reports whether the node holds the VIP now.
func (m *addrMonitor) Has() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.has
}

// Events is a copy of what was seen so far.
func (m *addrMonitor) Events() []AddrEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]AddrEvent(nil), m.events...)
}

func (m *addrMonitor) Close() {
	close(m.done)
	m.wg.Wait()
	m.ns.Close()
}

// arpEvery is how often the client asks who has the VIP.
const arpEvery = 10 * time.Millisecond

// arpWatcher asks, from the client, who has the VIP every arpEvery and
// records every answer, and every gratuitous ARP for the VIP.
type arpWatcher struct {
	f   *os.File
	vip [4]byte
	me  [4]byte
	mac [6]byte

	mu      sync.Mutex
	request uint64
	answers []ARPAnswer
	garps   []ARPAnswer

	done chan struct{}
	wg   sync.WaitGroup
}

func watchARP(bed *testbed.Bed, vip netip.Addr) (*arpWatcher, error) {
	mac, err := net.ParseMAC(bed.MAC("C"))
	if err != nil {
		return nil, fmt.Errorf("client MAC: %w", err)
	}
	w := &arpWatcher{vip: vip.As4(), me: bed.Addr("C").As4(), done: make(chan struct{})}
	copy(w.mac[:], mac)
	err = bed.InNS("C", func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return fmt.Errorf("open packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket: %w", err)
		}
		w.f = os.NewFile(uintptr(fd), "arp")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("arp watcher in the client: %w", err)
	}
	w.wg.Add(2)
	go w.ask()
	go w.listen()
	return w, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// arpRequest is a broadcast "who has tpa, tell spa" from sha.
func arpRequest(sha [6]byte, spa, tpa [4]byte) []byte {
	b := make([]byte, 60) // padded to the Ethernet minimum
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], sha[:])
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_ARP)
	binary.BigEndian.PutUint16(b[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[16:], 0x0800) // IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:], 1) // request
	copy(b[22:28], sha[:])
	copy(b[28:32], spa[:])
	copy(b[38:42], tpa[:])
	return b
}

// parseARP returns an ARP packet's operation, sender MAC and addresses.
func parseARP(b []byte) (op uint16, sha net.HardwareAddr, spa, tpa [4]byte, ok bool) {
	if len(b) < 42 || binary.BigEndian.Uint16(b[12:]) != unix.ETH_P_ARP || b[18] != 6 || b[19] != 4 {
		return 0, nil, spa, tpa, false
	}
	copy(spa[:], b[28:32])
	copy(tpa[:], b[38:42])
	return binary.BigEndian.Uint16(b[20:]), net.HardwareAddr(b[22:28]), spa, tpa, true
}

func (w *arpWatcher) ask() {
	defer w.wg.Done()
	t := time.NewTicker(arpEvery)
	defer t.Stop()
	req := arpRequest(w.mac, w.me, w.vip)
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
		}
		w.mu.Lock()
		w.request++
		w.mu.Unlock()
		_, _ = w.f.Write(req) // a lost request is a lost sample
	}
}

func (w *arpWatcher) listen() {
	defer w.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, err := w.f.Read(buf)
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		now := time.Now()
		op, sha, spa, tpa, ok := parseARP(buf[:n])
		if !ok || spa != w.vip {
			continue
		}
		w.mu.Lock()
		a := ARPAnswer{Request: w.request, At: now, MAC: sha.String()}
		switch {
		case tpa == w.vip:
			w.garps = append(w.garps, a)
		case op == 2 && tpa == w.me:
			w.answers = append(w.answers, a)
		}
		w.mu.Unlock()
	}
}

// Answers and GARPs are copies of what was seen so far.
func (w *arpWatcher) Answers() []ARPAnswer {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ARPAnswer(nil), w.answers...)
}

func (w *arpWatcher) GARPs() []ARPAnswer {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ARPAnswer(nil), w.garps...)
}

func (w *arpWatcher) Close() {
	close(w.done)
	w.f.Close()
	w.wg.Wait()
}
