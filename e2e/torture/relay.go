package torture

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
)

// A bad LAN, made by hand: this kernel has no netem. In each node's
// namespace an nftables rule sends the heartbeats bound for the peer to a
// relay of this process instead, which drops, duplicates and delays them
// before passing them on. The relay sends from the node's own address, so
// the peer's receiver takes them as the node's; its datagrams carry a
// mark that the rule lets through.

// relayPort is where a node's relay listens; relayMark marks its output.
const (
	relayPort = 7940
	relayMark = 0x4854 // "HT"
)

// impairment is what a relay does to each datagram.
type impairment struct {
	loss, dup       int // percent
	latency, jitter time.Duration
}

type relay struct {
	in, out *net.UDPConn
	peer    netip.AddrPort
	imp     impairment

	mu  sync.Mutex
	rng *rand.Rand

	wg sync.WaitGroup
}

// startRelay opens node's relay towards its peer's receiver.
func startRelay(bed *testbed.Bed, node string, imp impairment, seed uint64) (*relay, error) {
	self := bed.Addr(node)
	r := &relay{peer: netip.AddrPortFrom(bed.Addr(cluster.PeerOf(node)), heartbeatPort), imp: imp,
		rng: rand.New(rand.NewPCG(seed, uint64(node[0])))}
	err := bed.InNS(node, func() error {
		var err error
		if r.in, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(self, relayPort))); err != nil {
			return err
		}
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, relayMark)
			})
			return errors.Join(err, serr)
		}}
		pc, err := lc.ListenPacket(nil, "udp4", netip.AddrPortFrom(self, 0).String())
		if err != nil {
			r.in.Close()
			return err
		}
		r.out = pc.(*net.UDPConn)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open the relay in %s: %w", node, err)
	}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

func (r *relay) run() {
	defer r.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, err := r.in.Read(buf)
		if err != nil {
			return // closed
		}
		b := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		lost := r.rng.IntN(100) < r.imp.loss
		copies := 1
		if r.rng.IntN(100) < r.imp.dup {
			copies = 2
		}
		var delays []time.Duration
		for range copies {
			d := r.imp.latency
			if r.imp.jitter > 0 {
				d += time.Duration(r.rng.Int64N(int64(r.imp.jitter)))
			}
			delays = append(delays, d)
		}
		r.mu.Unlock()
		if lost {
			continue
		}
		for _, d := range delays {
			r.wg.Add(1)
			time.AfterFunc(d, func() {
				defer r.wg.Done()
				_, _ = r.out.WriteToUDPAddrPort(b, r.peer)
			})
		}
	}
}

func (r *relay) Close() {
	r.in.Close()
	r.wg.Wait() // the datagrams on their way go out first
	r.out.Close()
}

// impairLAN puts a relay with imp in the path of each node's heartbeats.
func (r *rig) impairLAN(imp impairment) error {
	r.mu.Lock()
	seed := r.rng.Uint64()
	r.mu.Unlock()
	for _, node := range cluster.Nodes {
		rl, err := startRelay(r.c.Bed, node, imp, seed)
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.relays = append(r.relays, rl)
		r.mu.Unlock()
		rules := fmt.Sprintf(`table ip torture {
	chain out {
		type nat hook output priority -100; policy accept;
		ip daddr %s udp dport %d meta mark != %#x dnat to %s:%d
	}
}
`, r.c.Bed.Addr(cluster.PeerOf(node)), heartbeatPort, relayMark, r.c.Bed.Addr(node), relayPort)
		if err := r.nft(node, rules); err != nil {
			return err
		}
	}
	return nil
}

// healLAN takes the relays out of the path: the rules go, the connection
// tracking that remembers them too, then the relays.
func (r *rig) healLAN() error {
	var errs []error
	for _, node := range cluster.Nodes {
		out, err := exec.Command("ip", "netns", "exec", r.c.Bed.NS(node), "nft", "list", "tables").CombinedOutput()
		if err != nil {
			errs = append(errs, fmt.Errorf("nft on %s: %w: %s", node, err, out))
			continue
		}
		if !strings.Contains(string(out), "torture") {
			continue
		}
		errs = append(errs, r.nft(node, "delete table ip torture\n"), flushConntrack(r.c.Bed.NS(node)))
	}
	r.mu.Lock()
	relays := r.relays
	r.relays = nil
	r.mu.Unlock()
	for _, rl := range relays {
		rl.Close()
	}
	return errors.Join(errs...)
}

// flushConntrack forgets the namespace's tracked connections: a heartbeat
// flow still tracked would stay translated to the relay's port.
func flushConntrack(ns string) error {
	h, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", ns, err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", ns, err)
	}
	defer nh.Close()
	if err := nh.ConntrackTableFlush(netlink.ConntrackTable); err != nil {
		return fmt.Errorf("flush connection tracking in %s: %w", ns, err)
	}
	return nil
}
