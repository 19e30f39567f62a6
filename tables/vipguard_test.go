package tables

import (
	"testing"
	"time"
)

func TestReAddLimiter(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var l reAddLimiter
	steps := []struct {
		at   time.Duration // since t0
		wait time.Duration // what wait says then
		add  bool          // then record a re-add
	}{
		{0, 0, true},
		{time.Second, 0, true},
		{2 * time.Second, 0, true},
		{2 * time.Second, 0, true},
		{3 * time.Second, 0, true},                // the fifth within 10s
		{3 * time.Second, 7 * time.Second, false}, // the sixth waits for the first to age out
		{10 * time.Second, 0, true},
		{10 * time.Second, time.Second, false}, // now the one at 1s
		{25 * time.Second, 0, true},            // calm again
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		if got := l.wait(now); got != s.wait {
			t.Errorf("step %d at %v: wait got %v, want %v", i, s.at, got, s.wait)
		}
		if s.add {
			l.done(now)
		}
	}
	if len(l.times) != reAddBurst {
		t.Errorf("remembered %d re-adds, want %d", len(l.times), reAddBurst)
	}
}
