package agents

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/config"
)

// linkSource is the netlink the link agent uses.
type linkSource interface {
	LinkByName(name string) (netlink.Link, error)
	// Subscribe delivers link updates on ch until done is closed or the
	// subscription fails; then it closes ch (netlink's contract).
	Subscribe(ch chan<- netlink.LinkUpdate, done <-chan struct{}, onErr func(error)) error
}

// linkCheck: an interface has carrier. It judges IFF_LOWER_UP and the
// operational state, not IFF_UP: when the far end of a cable (or of a
// veth) goes down, IFF_UP stays set and only IFF_LOWER_UP and operstate
// change (libraries.md §3). It is event driven: the check runs as soon as
// netlink reports a change of the link, and the interval check re-reads
// the link in case an event was lost.
//
// The kernel delays carrier-loss events: its linkwatch sends non-urgent
// link events of the whole machine in one batch at most once a second (a
// carrier gain is urgent and goes at once). So a lost carrier is reported
// from ~1.5 ms after it happens (a quiet machine) to a second later
// (measured on kernel 6.18: 140 ms to 1.02 s with other link activity on
// the machine); a gained one within ~1.5 ms. A re-read of the link
// (RTM_GETLINK) shows the loss at once, so at the default 1 s interval
// the agent sees a lost carrier within a second whichever comes first.
type linkCheck struct {
	name string
	src  linkSource
	log  zerolog.Logger
	// resubscribed counts subscriptions after the first: netlink closes
	// the update channel on any receive error, ENOBUFS after a burst the
	// agent could not keep up with among them (libraries.md §3).
	resubscribed atomic.Int64
	retry        time.Duration // wait before subscribing again after a failure
}

func newLink(a config.Agent, log zerolog.Logger) *linkCheck {
	return &linkCheck{name: a.Interface, src: &netlinkSource{ns: netns.None()}, log: log, retry: time.Second}
}

func (c *linkCheck) Check(ctx context.Context) Result {
	l, err := c.src.LinkByName(c.name)
	if err != nil {
		return errorf("%s: %v", c.name, err)
	}
	a := l.Attrs()
	return linkState(c.name, a.RawFlags, a.OperState)
}

// linkState judges a link from its flags and operational state.
// Interfaces without carrier detection (dummy, tun) report operstate
// "unknown" with IFF_LOWER_UP set: that counts as up, as it does for ip(8).
func linkState(name string, flags uint32, oper netlink.LinkOperState) Result {
	switch {
	case flags&unix.IFF_UP == 0:
		return errorf("%s is administratively down", name)
	case flags&unix.IFF_LOWER_UP == 0:
		return errorf("%s has no carrier (operstate %s)", name, oper)
	case oper != netlink.OperUp && oper != netlink.OperUnknown:
		return errorf("%s operstate %s", name, oper)
	}
	return okf("%s has carrier (operstate %s)", name, oper)
}

// Watch implements Watcher: it calls changed for every update of the link,
// and after every (re)subscription, since updates may have been lost
// before it.
func (c *linkCheck) Watch(ctx context.Context, changed func()) {
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			c.resubscribed.Add(1)
		}
		ch := make(chan netlink.LinkUpdate, 16)
		done := make(chan struct{})
		var closing atomic.Bool // our own close makes the receive fail too: not worth a line
		err := c.src.Subscribe(ch, done, func(err error) {
			if !closing.Load() {
				c.log.Warn().Err(err).Str("interface", c.name).Msg("netlink subscription error")
			}
		})
		if err != nil {
			c.log.Error().Err(err).Str("interface", c.name).Msg("netlink subscribe failed")
			select {
			case <-ctx.Done():
			case <-time.After(c.retry):
			}
			continue
		}
		changed()
		c.follow(ctx, ch, changed)
		closing.Store(true)
		close(done)
		// netlink's goroutine may be blocked sending to ch; it closes ch
		// once it sees the closed socket.
		go func() {
			for range ch {
			}
		}()
	}
}

// follow passes the link's updates on until the channel closes or ctx ends.
func (c *linkCheck) follow(ctx context.Context, ch <-chan netlink.LinkUpdate, changed func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-ch:
			if !ok {
				c.log.Warn().Str("interface", c.name).Msg("netlink subscription closed, subscribing again")
				return
			}
			if u.Link != nil {
				c.log.Debug().Str("link", u.Attrs().Name).Uint32("flags", u.Attrs().RawFlags).Stringer("oper", u.Attrs().OperState).Msg("netlink update")
			}
			if u.Link != nil && u.Attrs().Name == c.name {
				changed()
			}
		}
	}
}

// netlinkSource is netlink in one network namespace (netns.None(): the
// process's own).
type netlinkSource struct {
	ns     netns.NsHandle
	h      *netlink.Handle
	rcvbuf int // socket receive buffer for updates; 0: the kernel's default
}

func (s *netlinkSource) handle() (*netlink.Handle, error) {
	if s.h != nil {
		return s.h, nil
	}
	var err error
	if s.ns.IsOpen() {
		s.h, err = netlink.NewHandleAt(s.ns)
	} else {
		s.h, err = netlink.NewHandle()
	}
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	return s.h, nil
}

func (s *netlinkSource) LinkByName(name string) (netlink.Link, error) {
	h, err := s.handle()
	if err != nil {
		return nil, err
	}
	return h.LinkByName(name)
}

func (s *netlinkSource) Subscribe(ch chan<- netlink.LinkUpdate, done <-chan struct{}, onErr func(error)) error {
	opt := netlink.LinkSubscribeOptions{ErrorCallback: onErr, ReceiveBufferSize: s.rcvbuf, ReceiveBufferForceSize: s.rcvbuf > 0}
	if s.ns.IsOpen() {
		ns := s.ns
		opt.Namespace = &ns
	}
	return netlink.LinkSubscribeWithOptions(ch, done, opt)
}
