package agents

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// Slot is where a runner keeps its results: the agent's result slot in the
// table (TableSlot), or a fake in tests.
type Slot interface {
	// Last returns the slot's previous result, if it holds one, and
	// whether that is fresh (within its writer's promised interval).
	Last() (r slots.AgentResult, ok, fresh bool)
	Write(slots.AgentResult)
	Ring() // wakes had2
}

// Runner runs one agent: a check every Interval (and at once when a
// Watcher reports a change), each bounded by Timeout, through fall/rise,
// into its slot. It never runs two checks at once: a check that overruns
// its timeout is reported as ERROR, and so is every interval while it is
// still running, so the slot keeps being written even when the check
// itself hangs (a timeout is a failure: keepalived#535).
type Runner struct {
	Checker  Checker
	Slot     Slot
	Interval time.Duration
	Timeout  time.Duration
	Hang     time.Duration // written as the slot's Interval
	Fall     int
	Rise     int
	Log      zerolog.Logger

	busy      chan Result // a check that timed out and still runs
	busySince time.Time
}

// Run checks until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	prev, had, fresh := r.Slot.Last()
	d := newDebounce(r.Fall, r.Rise, had && fresh && prev.Value == shm.Error)
	counter, last := prev.Counter, shm.Value(0)
	if d.down {
		r.Log.Info().Msg("agent resumed down")
	}

	changed := make(chan struct{}, 1)
	if w, ok := r.Checker.(Watcher); ok {
		go w.Watch(ctx, func() {
			select {
			case changed <- struct{}{}:
			default: // a check is due already
			}
		})
	}
	tick := time.NewTimer(0)
	defer tick.Stop()
	next := time.Now()
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			next = next.Add(r.Interval)
			if now := time.Now(); next.Before(now) {
				next = now.Add(r.Interval) // a check overran: keep the spacing, skip the missed ticks
			}
			tick.Reset(time.Until(next))
		case <-changed:
		}
		res := d.step(r.check(ctx))
		if ctx.Err() != nil {
			return // the check was cut short by the stop, not by a failure
		}
		counter++
		r.Slot.Write(slots.AgentResult{Value: res.Value, Interval: int64(r.Hang), Counter: counter, Text: res.Text, Metrics: res.Metrics})
		if first || res.Value != last {
			r.Slot.Ring()
			ev := r.Log.Info()
			if res.Value == shm.Error || res.Value == shm.Warning {
				ev = r.Log.Warn()
			}
			ev.Stringer("value", res.Value).Str("text", res.Text).Msg("agent value changed")
		} else {
			r.Log.Debug().Stringer("value", res.Value).Str("text", res.Text).Msg("agent checked")
		}
		last = res.Value
	}
}

// check runs one check within the timeout.
func (r *Runner) check(ctx context.Context) Result {
	if r.busy != nil {
		select {
		case <-r.busy: // the overrunning check ended at last; its result is old news
			r.busy = nil
		default:
			return errorf("timed out: the check started %s ago still runs", time.Since(r.busySince).Round(time.Millisecond))
		}
	}
	cctx, cancel := context.WithTimeout(ctx, r.Timeout)
	done := make(chan Result, 1)
	start := time.Now()
	go func() {
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				done <- errorf("check panicked: %v", p)
			}
		}()
		done <- r.Checker.Check(cctx)
	}()
	// The context's deadline is the only timer: each timer a check sets
	// costs a wake-up, and an idle agent is mostly wake-ups.
	select {
	case res := <-done:
		return r.finished(res, cctx)
	case <-cctx.Done():
	}
	select {
	case res := <-done: // it returned as its context ended
		return r.finished(res, cctx)
	default:
	}
	if ctx.Err() != nil {
		return Result{} // stopping, not a failure
	}
	r.busy, r.busySince = done, start
	return errorf("timed out after %s", r.Timeout)
}

// finished cleans a check's result, naming the timeout when it cut the
// check short.
func (r *Runner) finished(res Result, cctx context.Context) Result {
	if res.Value == shm.Error && errors.Is(context.Cause(cctx), context.DeadlineExceeded) {
		res.Text = fmt.Sprintf("timed out after %s: %s", r.Timeout, res.Text)
	}
	return clean(res)
}

// clean makes a checker's result fit to write: a value an agent may
// report (anything else would make had1 restart the agent) and valid UTF-8.
func clean(res Result) Result {
	if res.Value > shm.Error {
		res = errorf("check returned value %d: %s", res.Value, res.Text)
	}
	if !utf8.ValidString(res.Text) {
		res.Text = fmt.Sprintf("%q", res.Text)
	}
	return res
}
