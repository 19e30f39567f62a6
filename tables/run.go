package tables

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Start starts the entries in table order, each within its timeout, and
// stops at the first failure: the error (a *StepError) names the entry and
// its line. Entries before the failed one stay started; a caller that
// cannot go on calls Stop, which stops whatever runs.
//
// What an entry leaves running after Start (a vip's repeated
// announcements) does not end with ctx, which callers often cancel as soon
// as Start returns; it ends by itself, or at Stop.
func (t *Table) Start(ctx context.Context, log zerolog.Logger, deps Deps) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	env := t.env(log, deps)
	for _, e := range t.Entries {
		if err := t.step(ctx, env, e, OpStart, 1, true, e.Start); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops the entries in reverse table order. It does not stop at a
// failure: a failed stop is tried again (Policy.StopRetries times,
// Policy.RetryDelay apart), the other entries are stopped all the same,
// and every entry that could not be stopped is reported (errors.Join of
// *StepError). A non-nil error means some resource may still be held: the
// caller must fail safe.
//
// Stop honours ctx; a caller releasing resources on its way out should pass
// a context that is not already cancelled (context.WithoutCancel).
func (t *Table) Stop(ctx context.Context, log zerolog.Logger, deps Deps) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	env := t.env(log, deps)
	var errs []error
	for i := len(t.Entries) - 1; i >= 0; i-- {
		e := t.Entries[i]
		for attempt := 1; ; attempt++ {
			last := attempt > t.Policy.StopRetries
			err := t.step(ctx, env, e, OpStop, attempt, last, e.Stop)
			if err == nil {
				break
			}
			if last || !sleep(ctx, t.Policy.RetryDelay) {
				errs = append(errs, err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// reannouncer is an entry that can announce its address again.
type reannouncer interface {
	Reannounce(ctx context.Context, env *Env) error
}

// Reannounce sends the gratuitous announcements again for every virtual
// address of the table that the node holds (after a split brain resolves,
// when the peer may have announced them last). Addresses not held are
// skipped. It goes on past failures and reports them all.
func (t *Table) Reannounce(ctx context.Context, log zerolog.Logger, deps Deps) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	env := t.env(log, deps)
	var errs []error
	for _, e := range t.Entries {
		r, ok := e.(reannouncer)
		if !ok {
			continue
		}
		if err := t.step(ctx, env, e, OpReannounce, 1, true, r.Reannounce); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t *Table) env(log zerolog.Logger, deps Deps) *Env {
	return &Env{Deps: deps, Log: log.With().Str("table", t.Name).Logger()}
}

// step runs one operation on one entry within the entry's timeout and logs
// it: Info "table step done", or "table step failed" (Warn when it will be
// tried again, Error when not).
//
// The operation runs in its own goroutine so that one ignoring its context
// (a hung netlink call) cannot hold up the table: after the timeout the
// executor waits Policy.Abandon for it to clean up, then reports it.
func (t *Table) step(ctx context.Context, env *Env, e Entry, op Op, attempt int, last bool,
	fn func(context.Context, *Env) error) error {
	begin := time.Now()
	sctx, cancel := context.WithTimeout(ctx, e.Timeout())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(sctx, env) }()
	var err error
	timedOut := false
	select {
	case err = <-done:
		timedOut = errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
	case <-sctx.Done():
		timedOut = ctx.Err() == nil // else the caller cancelled: not a timeout
		abandon := time.NewTimer(t.Policy.Abandon)
		select {
		case err = <-done:
			if err == nil {
				err = sctx.Err() // finished, but too late to count as done
			}
		case <-abandon.C:
			err = fmt.Errorf("abandoned %v later, still running", t.Policy.Abandon)
		}
		abandon.Stop()
	}
	if err != nil && timedOut {
		err = fmt.Errorf("%w after %v: %w", ErrTimeout, e.Timeout(), err)
	}
	took := time.Since(begin)

	ev := env.Log.Info()
	msg := "table step done"
	switch {
	case errors.Is(err, errNotHeld):
		ev, msg, err = env.Log.Debug(), "table step skipped", nil
	case err != nil && last:
		ev, msg = env.Log.Error().Err(err), "table step failed"
	case err != nil:
		ev, msg = env.Log.Warn().Err(err), "table step failed"
	}
	ev = ev.Str("entry", e.Name()).Str("kind", string(e.Kind())).Int("line", e.Line()).
		Str("op", string(op)).Dur("took", took)
	if attempt > 1 {
		ev = ev.Int("attempt", attempt)
	}
	ev.Msg(msg)
	if err != nil {
		return &StepError{File: t.File, Table: t.Name, Entry: e.Name(), Kind: e.Kind(), Line: e.Line(), Op: op, Err: err}
	}
	return nil
}

// sleep waits d, or less if ctx ends first; it reports whether ctx is
// still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
