package alerts

import (
	"context"
	"sync"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/rs/zerolog"
)

// Event is something an operator should hear of.
type Event struct {
	Time  time.Time // when it happened; Send fills in the current time when zero
	Node  string    // the node's name
	Level string    // "info", "warning" or "error"
	Kind  string    // "alert", "transition", "agent", "path", "admin", "table"
	Text  string    // what happened: "heartbeat path lan down"
}

// Stats counts one channel's alerts. Dropped = RateLimited + QueueFull +
// the events still queued when Close gave up.
type Stats map[string]ChannelStats

// ChannelStats are one channel's counters.
type ChannelStats struct {
	Sent        uint64 `json:"sent"`
	Failed      uint64 `json:"failed"`       // delivery failed or timed out; not retried
	Dropped     uint64 `json:"dropped"`      // never delivered (all causes below)
	RateLimited uint64 `json:"rate_limited"` // held back by the rate limit, never sent
	QueueFull   uint64 `json:"queue_full"`   // dropped as the oldest of a full queue
	Queued      int    `json:"queued"`       // waiting now
}

// Queue and timing defaults.
const (
	// queueLen bounds each channel's queue. Alerts are rare; a burst
	// longer than this (a flapping path with many agents) loses its
	// oldest events, never the newest.
	queueLen = 128
	// closeFactor: Close waits up to closeFactor × Timeout for the queues
	// to drain: one delivery in flight plus about one more.
	closeFactor = 2
	// closeGrace: after cancelling, Close waits this long for channels
	// to notice before it returns without them.
	closeGrace = time.Second
)

// levels ranks the alert levels. An unknown level ranks as error: an
// event is better sent than hidden by a typo.
func rank(level string) int {
	switch level {
	case "info":
		return 0
	case "warning", "warn":
		return 1
	}
	return 2
}

// Dispatcher sends events to the configured channels. Its methods are
// safe for concurrent use.
type Dispatcher struct {
	lanes   []*lane
	min     int
	timeout time.Duration
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

// New starts the channels cfg configures: the log always, email when a
// server and recipients are set, sms with a command or URL, beep, and the
// user command. Defaults stand in for a zero MinLevel (warning) and
// Timeout (10s); a zero RateLimit sends every event.
func New(cfg config.Alerts, log zerolog.Logger) *Dispatcher {
	chans := []channel{newLog(log)}
	if cfg.Email.Server != "" && len(cfg.Email.To) > 0 {
		chans = append(chans, newEmail(cfg.Email, log))
	}
	switch {
	case cfg.SMS.Command != "":
		chans = append(chans, newSMSCommand(cfg.SMS.Command))
	case cfg.SMS.URL != "":
		chans = append(chans, newSMSURL(cfg.SMS.URL))
	}
	if cfg.Beep {
		chans = append(chans, newBeep(log))
	}
	if cfg.Command != "" {
		chans = append(chans, newCommand(cfg.Command))
	}
	return start(cfg, log, queueLen, chans)
}

// start runs chans; the first one is the log, which takes every event and
// is not rate-limited.
func start(cfg config.Alerts, log zerolog.Logger, size int, chans []channel) *Dispatcher {
	if cfg.MinLevel == "" {
		cfg.MinLevel = config.DefaultAlertLevel
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = config.DefaultAlertTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{min: rank(cfg.MinLevel), timeout: cfg.Timeout, cancel: cancel}
	for i, ch := range chans {
		l := &lane{ch: ch, q: newQueue(size), timeout: cfg.Timeout, log: log.With().Str("channel", ch.name()).Logger()}
		if i > 0 {
			l.filter, l.lim = true, newLimiter(cfg.RateLimit)
		}
		d.lanes = append(d.lanes, l)
		d.wg.Go(func() { l.run(ctx) })
	}
	return d
}

// Send queues e on every channel that takes its level. It never blocks
// and never fails: a full queue drops its oldest event (counted in
// QueueFull), and after Close it does nothing.
func (d *Dispatcher) Send(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r := rank(e.Level)
	for _, l := range d.lanes {
		if l.filter && r < d.min {
			continue
		}
		if _, dropped := l.q.push(e); dropped {
			l.queueFull.Add(1)
			l.dropped.Add(1)
		}
	}
}

// Close stops taking events, delivers what is queued, and returns when
// the queues are empty or after 2 × Timeout, whichever comes first. At
// that bound it cancels the deliveries in flight (killing the commands'
// process groups) and counts what is still queued as dropped. Held-back
// events of the rate limit are not sent. Close may be called more than
// once.
func (d *Dispatcher) Close() {
	d.once.Do(func() {
		for _, l := range d.lanes {
			l.q.close()
		}
		done := make(chan struct{})
		go func() { d.wg.Wait(); close(done) }()
		bound := time.NewTimer(closeFactor * d.timeout)
		defer bound.Stop()
		select {
		case <-done:
			d.cancel()
			return
		case <-bound.C:
		}
		d.cancel()
		// Every delivery heeds the context; the grace only covers one
		// that cannot (a log writer stuck on a full pipe).
		grace := time.NewTimer(closeGrace)
		defer grace.Stop()
		select {
		case <-done:
		case <-grace.C:
		}
	})
}

// Stats returns each channel's counters, by channel name.
func (d *Dispatcher) Stats() Stats {
	s := make(Stats, len(d.lanes))
	for _, l := range d.lanes {
		s[l.ch.name()] = l.stats()
	}
	return s
}
