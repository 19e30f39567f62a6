package agents

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// fakeSlot records what a runner writes.
type fakeSlot struct {
	mu     sync.Mutex
	prev   slots.AgentResult
	had    bool
	fresh  bool
	writes []slots.AgentResult
	at     []time.Time
	rings  int
}

func (s *fakeSlot) Last() (slots.AgentResult, bool, bool) { return s.prev, s.had, s.fresh }

func (s *fakeSlot) Write(r slots.AgentResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, r)
	s.at = append(s.at, time.Now())
}

func (s *fakeSlot) Ring() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rings++
}

func (s *fakeSlot) snapshot() ([]slots.AgentResult, []time.Time, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slots.AgentResult(nil), s.writes...), append([]time.Time(nil), s.at...), s.rings
}

// scripted is a checker whose n-th check does script[n] (the last one
// repeats).
type scripted struct {
	mu     sync.Mutex
	n      int
	script []func(ctx context.Context) Result
}

func (c *scripted) Check(ctx context.Context) Result {
	c.mu.Lock()
	f := c.script[min(c.n, len(c.script)-1)]
	c.n++
	c.mu.Unlock()
	return f(ctx)
}

func value(v shm.Value, text string) func(context.Context) Result {
	return func(context.Context) Result { return Result{Value: v, Text: text} }
}

func newTestRunner(c Checker, s Slot) *Runner {
	return &Runner{Checker: c, Slot: s, Interval: time.Second, Timeout: 500 * time.Millisecond, Hang: 3 * time.Second,
		Fall: 1, Rise: 1, Log: zerolog.Nop()}
}

// runFor runs r in a synctest bubble for d of fake time and stops it.
func runFor(r *Runner, d time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	time.Sleep(d)
	cancel()
	<-done
}

func TestRunnerWritesEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSlot{}
		c := &scripted{script: []func(context.Context) Result{
			value(shm.OK, "fine"), value(shm.OK, "fine"), value(shm.Error, "down"), value(shm.OK, "fine"),
		}}
		start := time.Now()
		runFor(newTestRunner(c, s), 4500*time.Millisecond)
		writes, at, rings := s.snapshot()
		if len(writes) != 5 {
			t.Fatalf("got %d writes in 4.5 s at 1 s, want 5: %+v", len(writes), writes)
		}
		want := []shm.Value{shm.OK, shm.OK, shm.Error, shm.OK, shm.OK}
		for i, w := range writes {
			if w.Value != want[i] || w.Counter != uint64(i+1) || w.Interval != int64(3*time.Second) {
				t.Errorf("write %d: got %v counter %d interval %d; want %v, %d, 3s", i, w.Value, w.Counter, w.Interval, want[i], i+1)
			}
			if got := at[i].Sub(start); got != time.Duration(i)*time.Second {
				t.Errorf("write %d at %s, want %ds", i, got, i)
			}
		}
		if rings != 3 { // the first write, OK→ERROR, ERROR→OK
			t.Errorf("got %d rings, want 3", rings)
		}
	})
}

func TestRunnerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		s := &fakeSlot{}
		c := &scripted{script: []func(context.Context) Result{
			// honours its context: cut at the timeout
			func(ctx context.Context) Result { <-ctx.Done(); return errorf("dial: %v", ctx.Err()) },
			// ignores its context: hangs until released
			func(ctx context.Context) Result { <-release; return okf("late") },
			value(shm.OK, "fine"),
		}}
		r := newTestRunner(c, s)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		time.Sleep(3500 * time.Millisecond) // checks at 0, 1, 2, 3 s
		close(release)
		time.Sleep(time.Second) // check at 4 s
		cancel()
		<-done
		writes, at, _ := s.snapshot()
		want := []struct {
			v    shm.Value
			text string
			at   time.Duration
		}{
			{shm.Error, "timed out after 500ms", 500 * time.Millisecond},
			{shm.Error, "timed out after 500ms", 1500 * time.Millisecond},
			{shm.Error, "timed out: the check started 1s ago still runs", 2 * time.Second},
			{shm.Error, "timed out: the check started 2s ago still runs", 3 * time.Second},
			{shm.OK, "fine", 4 * time.Second},
		}
		if len(writes) != len(want) {
			t.Fatalf("got %d writes, want %d: %+v", len(writes), len(want), writes)
		}
		start := at[0].Add(-500 * time.Millisecond)
		for i, w := range want {
			if writes[i].Value != w.v || !strings.HasPrefix(writes[i].Text, w.text) || at[i].Sub(start) != w.at {
				t.Errorf("write %d: got %v %q at %s; want %v %q… at %s", i, writes[i].Value, writes[i].Text, at[i].Sub(start), w.v, w.text, w.at)
			}
		}
	})
}

// watched is a checker that reports a change when told to.
type watched struct {
	scripted
	poke chan struct{}
}

func (w *watched) Watch(ctx context.Context, changed func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.poke:
			changed()
		}
	}
}

func TestRunnerWatcherChecksAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSlot{}
		w := &watched{scripted: scripted{script: []func(context.Context) Result{value(shm.OK, "up"), value(shm.Error, "no carrier")}},
			poke: make(chan struct{})}
		r := newTestRunner(w, s)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		time.Sleep(300 * time.Millisecond)
		w.poke <- struct{}{}
		synctest.Wait()
		writes, at, rings := s.snapshot()
		cancel()
		<-done
		if len(writes) != 2 || writes[1].Value != shm.Error || at[1].Sub(at[0]) != 300*time.Millisecond || rings != 2 {
			t.Fatalf("got %d writes (%+v) %d rings, want the change written at once, 300ms after the first, and rung", len(writes), writes, rings)
		}
	})
}

func TestRunnerResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSlot{prev: slots.AgentResult{Value: shm.Error, Counter: 41}, had: true, fresh: true}
		r := newTestRunner(&scripted{script: []func(context.Context) Result{value(shm.OK, "back")}}, s)
		r.Rise = 2
		runFor(r, 1500*time.Millisecond)
		writes, _, _ := s.snapshot()
		if len(writes) != 2 || writes[0].Counter != 42 || writes[0].Value != shm.Error || writes[1].Value != shm.OK {
			t.Fatalf("got %+v, want counter 42 ERROR (down, good 1/2), then OK", writes)
		}

		// A stale ERROR (the agent was gone too long, or it was another
		// agent's) does not resume down.
		s = &fakeSlot{prev: slots.AgentResult{Value: shm.Error, Counter: 7}, had: true}
		r = newTestRunner(&scripted{script: []func(context.Context) Result{value(shm.OK, "back")}}, s)
		r.Rise = 2
		runFor(r, 500*time.Millisecond)
		writes, _, _ = s.snapshot()
		if len(writes) != 1 || writes[0].Counter != 8 || writes[0].Value != shm.OK {
			t.Fatalf("got %+v, want counter 8 OK", writes)
		}
	})
}

func TestRunnerBadChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSlot{}
		c := &scripted{script: []func(context.Context) Result{
			func(context.Context) Result { panic("oops") },
			value(shm.Overtime, "not an agent value"),
			value(shm.OK, "bad \xff utf-8"),
		}}
		runFor(newTestRunner(c, s), 2500*time.Millisecond)
		writes, _, _ := s.snapshot()
		if len(writes) != 3 {
			t.Fatalf("got %d writes, want 3", len(writes))
		}
		for i, want := range []string{"check panicked: oops", "check returned value 4", `"bad \xff utf-8"`} {
			if !strings.HasPrefix(writes[i].Text, want) {
				t.Errorf("write %d: got %q, want %q…", i, writes[i].Text, want)
			}
			if r := writes[i].Record(); !slots.ValidAgentResult(r) {
				t.Errorf("write %d: %+v is not a valid agent result", i, writes[i])
			}
		}
	})
}
