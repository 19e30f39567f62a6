package tables

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NetlinkWatcher reports address deletions from one netlink subscription
// (RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR) shared by every watch of the
// process. The subscription exists only while some address is watched, so a
// node that holds nothing has none.
//
// The subscription's goroutine closes its channel when the socket fails,
// ENOBUFS above all: a burst of address changes that overflows the receive
// buffer (libraries.md §3). Events are then lost, so the watcher subscribes
// again and calls every watch with the reason: each checks its own address.
type NetlinkWatcher struct {
	ns        *netns.NsHandle // nil: the calling process's namespace
	rcvBuf    int             // the receive buffer to ask for
	subscribe func(w *NetlinkWatcher) (*subscription, error)

	mu      sync.Mutex
	watches map[*addrWatch]struct{}
	stop    chan struct{} // closed when the last watch ends; nil when none
}

type addrWatch struct {
	addr    netip.Addr
	changed func(error)
}

var _ AddrWatcher = (*NetlinkWatcher)(nil)

// NewNetlinkWatcher returns a watcher of the addresses of namespace ns, or of
// the process's own namespace when ns is nil (production; tests pass a
// namespace they made).
func NewNetlinkWatcher(ns *netns.NsHandle) *NetlinkWatcher {
	return &NetlinkWatcher{
		ns:        ns,
		rcvBuf:    watchRcvBuf,
		subscribe: (*NetlinkWatcher).subscribeNetlink,
		watches:   map[*addrWatch]struct{}{},
	}
}

// The receive buffer asked for: about 4000 address events. Larger than the
// default, so that ENOBUFS takes a real storm; re-subscription covers it.
const watchRcvBuf = 1 << 20

// Re-subscription is tried again after a failure, from watchRetryMin
// doubling up to watchRetryMax.
const (
	watchRetryMin = 10 * time.Millisecond
	watchRetryMax = 5 * time.Second
)

// Watch implements AddrWatcher. The first watch subscribes, before Watch
// returns, so that a deletion right after it is seen. Events are matched on
// the address only: a check of the device costs a dump, and an address
// with the same IP on another device is rare.
func (w *NetlinkWatcher) Watch(dev string, prefix netip.Prefix, changed func(lost error)) (func(), error) {
	aw := &addrWatch{addr: prefix.Addr(), changed: changed}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop == nil {
		sub, err := w.subscribe(w)
		if err != nil {
			return nil, fmt.Errorf("watch %s on %s: %w", prefix, dev, err)
		}
		w.stop = make(chan struct{})
		go w.run(w.stop, sub)
	}
	w.watches[aw] = struct{}{}
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			delete(w.watches, aw)
			if len(w.watches) == 0 && w.stop != nil {
				close(w.stop)
				w.stop = nil
			}
		})
	}, nil
}

// subscription is one netlink subscription: its channel, the done channel
// that ends it, and the last error its goroutine reported.
type subscription struct {
	ch   chan netlink.AddrUpdate
	done chan struct{}

	mu  sync.Mutex
	err error
}

func (s *subscription) lastErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return errors.New("address subscription closed")
	}
	return s.err
}

// end closes the subscription and drains its channel until its goroutine
// has closed it (the goroutine blocks on a full channel otherwise).
func (s *subscription) end() {
	close(s.done)
	for range s.ch {
	}
}

func (w *NetlinkWatcher) subscribeNetlink() (*subscription, error) {
	s := &subscription{ch: make(chan netlink.AddrUpdate, 64), done: make(chan struct{})}
	opts := netlink.AddrSubscribeOptions{
		Namespace: w.ns,
		ErrorCallback: func(err error) {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		},
		ReceiveBufferSize:      w.rcvBuf,
		ReceiveBufferForceSize: true, // past rmem_max: had runs as root
	}
	err := netlink.AddrSubscribeWithOptions(s.ch, s.done, opts)
	if err != nil {
		// Not root after all (SO_RCVBUFFORCE needs CAP_NET_ADMIN): take
		// what rmem_max allows.
		opts.ReceiveBufferForceSize = false
		err = netlink.AddrSubscribeWithOptions(s.ch, s.done, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("subscribe to address events: %w", err)
	}
	return s, nil
}

// run dispatches deletions until stop is closed, subscribing again whenever
// the subscription dies.
func (w *NetlinkWatcher) run(stop <-chan struct{}, sub *subscription) {
	defer func() {
		if sub != nil {
			sub.end()
		}
	}()
	for {
		select {
		case <-stop:
			return
		case u, ok := <-sub.ch:
			if ok {
				if !u.NewAddr {
					w.deleted(u)
				}
				continue
			}
		}
		lost := sub.lastErr()
		sub.end() // done is still open: close it, or its closer goroutine leaks
		sub = nil
		retry := watchRetryMin
		for sub == nil {
			var err error
			if sub, err = w.subscribe(w); err == nil {
				break
			}
			w.notifyAll(fmt.Errorf("address events lost (%v), and %w; retrying in %v", lost, err, retry))
			t := time.NewTimer(retry)
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
			}
			retry = min(2*retry, watchRetryMax)
		}
		w.notifyAll(fmt.Errorf("address events lost (%v); subscribed again", lost))
	}
}

// deleted calls the watches of a deleted address. It holds mu so that a
// watch cancelled before is never called.
func (w *NetlinkWatcher) deleted(u netlink.AddrUpdate) {
	ip, ok := netip.AddrFromSlice(u.LinkAddress.IP)
	if !ok {
		return
	}
	ip = ip.Unmap()
	w.mu.Lock()
	defer w.mu.Unlock()
	for aw := range w.watches {
		if aw.addr == ip {
			aw.changed(nil)
		}
	}
}

func (w *NetlinkWatcher) notifyAll(lost error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for aw := range w.watches {
		aw.changed(lost)
	}
}
