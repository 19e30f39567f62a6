package alerts

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// channel is one way of telling the operator. deliver must return soon
// after ctx ends: it is given the configured timeout.
type channel interface {
	name() string
	deliver(ctx context.Context, a alert) error
}

// lane is a channel with its queue, rate limit and counters, served by a
// goroutine of its own so that it delays no other channel.
type lane struct {
	ch      channel
	q       *queue
	filter  bool     // takes only events at or above the minimum level
	lim     *limiter // nil: every event goes out (the log)
	timeout time.Duration
	log     zerolog.Logger

	sent, failed, dropped, rateLimited, queueFull atomic.Uint64
}

func (l *lane) stats() ChannelStats {
	return ChannelStats{
		Sent: l.sent.Load(), Failed: l.failed.Load(), Dropped: l.dropped.Load(),
		RateLimited: l.rateLimited.Load(), QueueFull: l.queueFull.Load(), Queued: l.q.len(),
	}
}

// run delivers queued events until the queue is closed and empty, or ctx
// ends (then what is left is counted as dropped).
func (l *lane) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if ctx.Err() != nil {
			for _, ok := l.q.pop(); ok; _, ok = l.q.pop() {
				l.dropped.Add(1)
			}
			return
		}
		if e, ok := l.q.pop(); ok {
			l.take(ctx, e)
			continue
		}
		if l.q.done() {
			return
		}
		var due <-chan time.Time
		if l.lim != nil {
			if t := l.lim.next(); !t.IsZero() {
				timer.Reset(time.Until(t))
				due = timer.C
			}
		}
		select {
		case <-l.q.wake:
		case <-ctx.Done():
		case now := <-due:
			for _, a := range l.lim.flush(now) {
				// The held event goes out after all: it is no longer dropped.
				l.rateLimited.Add(^uint64(0))
				l.dropped.Add(^uint64(0))
				l.deliver(ctx, a)
			}
		}
		timer.Stop()
	}
}

// take passes e through the rate limit and delivers it.
func (l *lane) take(ctx context.Context, e Event) {
	if l.lim == nil {
		l.deliver(ctx, alert{Event: e})
		return
	}
	a, ok := l.lim.admit(e, e.Time)
	if !ok {
		l.rateLimited.Add(1)
		l.dropped.Add(1)
		return
	}
	l.deliver(ctx, a)
}

func (l *lane) deliver(ctx context.Context, a alert) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	start := time.Now()
	err := l.ch.deliver(ctx, a)
	if err != nil {
		l.failed.Add(1)
		l.log.Warn().Err(err).Str("alert", a.line()).Dur("took", time.Since(start)).Msg("alert not sent")
		return
	}
	l.sent.Add(1)
	l.log.Debug().Str("alert", a.line()).Dur("took", time.Since(start)).Msg("alert sent")
}
