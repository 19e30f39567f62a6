package tables

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The vip guard: while a vip entry is held (from Start to Stop), it puts the
// address back when something else deletes it (an operator, NetworkManager
// or systemd-networkd reconfiguring the interface: anchors.md complaint #8)
// and announces it again at once, logging loudly; with garp_refresh it also
// sends one announcement burst every garp_refresh, checking on the way that
// the address is still there (a backstop should netlink events be lost).
//
// Deletions come from the AddrWatcher. A check always asks Addrs whether
// the address is held before it adds anything, so that spurious or late
// events cost one netlink dump and nothing else.

type vipGuard struct {
	cancel  context.CancelFunc
	unwatch func() // nil without a watch
	once    sync.Once
	done    chan struct{} // closed when the goroutine has returned
}

// Re-adds are immediate up to reAddBurst within reAddWindow; after that one
// per reAddWindow/reAddBurst, so that had and a program that deletes the
// address every time it appears do not fight at netlink speed (and fill
// the log). Both would otherwise loop for ever; the log says who to stop.
const (
	reAddBurst  = 5
	reAddWindow = 10 * time.Second
)

// reAddLimiter remembers recent re-adds. It is pure: time comes in.
type reAddLimiter struct {
	times []time.Time // the last reAddBurst re-adds, oldest first
}

// wait returns how long to wait, from now, before the next re-add.
func (l *reAddLimiter) wait(now time.Time) time.Duration {
	if len(l.times) < reAddBurst {
		return 0
	}
	next := l.times[0].Add(reAddWindow)
	if d := next.Sub(now); d > 0 {
		return d
	}
	return 0
}

// done records a re-add at now.
func (l *reAddLimiter) done(now time.Time) {
	l.times = append(l.times, now)
	if len(l.times) > reAddBurst {
		l.times = l.times[len(l.times)-reAddBurst:]
	}
}

// startGuard starts the guard when there is something to guard with: a
// Watcher or garp_refresh. A watch that cannot be set up is logged, not
// returned: the address serves clients all the same. The caller holds ops.
func (v *vipEntry) startGuard(env *Env) {
	if env.Watcher == nil && v.garpRefresh == 0 {
		return
	}
	log := env.Log.With().Str("entry", v.name).Str("dev", v.dev).Str("vip", v.prefix.Addr().String()).Logger()
	ctx, cancel := context.WithCancel(context.Background())
	g := &vipGuard{cancel: cancel, done: make(chan struct{})}
	// One pending check covers any number of events that come before it.
	kick := make(chan error, 1)
	if env.Watcher != nil {
		unwatch, err := env.Watcher.Watch(v.dev, v.prefix, func(lost error) {
			select {
			case kick <- lost:
			default:
			}
		})
		if err != nil {
			log.Warn().Err(err).Msg("vip watch failed: a deletion behind had's back will not be noticed")
		} else {
			g.unwatch = unwatch
		}
	}
	v.mu.Lock()
	v.guard = g
	v.mu.Unlock()
	go v.guardLoop(ctx, env, g, kick)
}

// stopGuard ends the watch, then the guard, and waits for it within ctx.
// After it returns nil, nothing re-adds or announces the address but the
// entry's own operations.
func (v *vipEntry) stopGuard(ctx context.Context) error {
	v.mu.Lock()
	g := v.guard
	v.mu.Unlock()
	if g == nil {
		return nil
	}
	g.once.Do(func() {
		if g.unwatch != nil {
			g.unwatch()
		}
		g.cancel()
	})
	select {
	case <-g.done:
		v.mu.Lock()
		if v.guard == g {
			v.guard = nil
		}
		v.mu.Unlock()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the vip guard to stop: %w", ctx.Err())
	}
}

func (v *vipEntry) guardLoop(ctx context.Context, env *Env, g *vipGuard, kick <-chan error) {
	defer close(g.done)
	log := env.Log.With().Str("entry", v.name).Str("dev", v.dev).Str("vip", v.prefix.Addr().String()).Logger()
	var refresh <-chan time.Time
	if v.garpRefresh > 0 {
		t := time.NewTicker(v.garpRefresh)
		defer t.Stop()
		refresh = t.C
	}
	var (
		held    <-chan time.Time // a throttled check
		pending error            // why the throttled check is due
		warned  bool             // throttling has been logged
	)
	check := func(lost error, burst bool) {
		if err := v.ops.lock(ctx); err != nil {
			return // Stop is under way
		}
		defer v.ops.unlock()
		if ctx.Err() != nil {
			return
		}
		if lost != nil {
			log.Warn().Err(lost).Msg("address events may have been lost: checking the vip")
		}
		present, err := env.Addrs.Has(v.dev, v.prefix)
		if err != nil {
			log.Warn().Err(err).Msg("vip check failed")
			return
		}
		if present {
			if burst && env.Announcer != nil {
				if err := env.Announcer.Announce(v.dev, v.prefix.Addr()); err != nil {
					log.Warn().Err(err).Msg(v.announceWhat() + " refresh failed")
				}
			}
			return
		}
		if d := v.lim.wait(time.Now()); d > 0 {
			if !warned {
				log.Error().Dur("next", d).Int("burst", reAddBurst).Dur("window", reAddWindow).
					Msg("vip keeps being deleted behind had's back: re-adding it at a slower pace; find what deletes it")
				warned = true
			}
			if held == nil {
				held, pending = time.After(d), lost
			}
			return
		}
		warned = false
		v.lim.done(time.Now())
		if err := env.Addrs.Add(v.dev, v.prefix, v.label); err != nil {
			log.Error().Err(err).Msg("vip deleted behind had's back, re-add failed")
			return
		}
		log.Error().Msg("vip deleted behind had's back, re-added")
		if err := v.stopRepeats(ctx); err != nil {
			return
		}
		v.announce(ctx, env)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case lost := <-kick:
			check(lost, false)
		case <-held:
			held = nil
			check(pending, false)
		case <-refresh:
			check(nil, true)
		}
	}
}
