package testbed

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// AddrEvent is one address added to or removed from an interface of a
// node, as netlink announced it.
type AddrEvent struct {
	Prefix    netip.Prefix
	LinkIndex int
	Added     bool // false: removed
}

// AddrWatch records a node's address changes (RTM_NEWADDR/RTM_DELADDR),
// each with the time the event reached the watch: for a benchmark, when a
// virtual IP was really added, as the kernel saw it, rather than when a
// log line said so.
type AddrWatch struct {
	log  *eventLog[AddrEvent]
	done chan struct{}
	once sync.Once
}

// WatchAddrs starts watching node's addresses (A, B or C). The bed stops it
// on Close; Stop stops it sooner.
func (b *Bed) WatchAddrs(node string) (*AddrWatch, error) {
	ns, err := b.nsOf(node)
	if err != nil {
		return nil, err
	}
	h, err := netns.GetFromName(ns)
	if err != nil {
		return nil, fmt.Errorf("watch addresses in %s: %w", node, err)
	}
	defer h.Close() // the subscription keeps its own socket in the namespace
	w := &AddrWatch{log: newEventLog[AddrEvent]("address event"), done: make(chan struct{})}
	ch := make(chan netlink.AddrUpdate, 64)
	err = netlink.AddrSubscribeWithOptions(ch, w.done, netlink.AddrSubscribeOptions{
		Namespace:         &h,
		ReceiveBufferSize: 1 << 20,
		ErrorCallback:     func(error) {}, // a lost event shows as a timeout in First
	})
	if err != nil {
		return nil, fmt.Errorf("watch addresses in %s: %w", node, err)
	}
	go func() {
		for u := range ch { // closed by the subscription when done closes or on error
			at := time.Now()
			ip, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if !ok {
				continue
			}
			bits, _ := u.LinkAddress.Mask.Size()
			w.log.add(at, AddrEvent{Prefix: netip.PrefixFrom(ip.Unmap(), bits), LinkIndex: u.LinkIndex, Added: u.NewAddr})
		}
	}()
	b.mu.Lock()
	b.watches = append(b.watches, w)
	b.mu.Unlock()
	return w, nil
}

// First waits up to timeout for the first event after the instant after
// that match accepts, and returns it with the time it arrived.
func (w *AddrWatch) First(after time.Time, timeout time.Duration, match func(AddrEvent) bool) (time.Time, AddrEvent, error) {
	return w.log.first(after, timeout, match)
}

// Stop ends the watch; what was recorded stays readable. Safe to call
// twice.
func (w *AddrWatch) Stop() {
	w.once.Do(func() {
		close(w.done)
		w.log.stop()
	})
}
