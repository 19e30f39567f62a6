package alerts

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiterAdmit(t *testing.T) {
	type step struct {
		at        time.Duration // since t0
		text      string
		ok        bool
		held      int           // count carried when ok
		sinceFrom time.Duration // since t0, when held > 0
	}
	tests := []struct {
		name  string
		every time.Duration
		steps []step
	}{
		{"no limit", 0, []step{{0, "a", true, 0, 0}, {0, "a", true, 0, 0}, {time.Second, "a", true, 0, 0}}},
		{"first goes out", time.Minute, []step{{0, "a", true, 0, 0}}},
		{"flapping: one per minute, then the count", time.Minute, []step{
			{0, "lan down", true, 0, 0},
			{5 * time.Second, "lan down", false, 0, 0},
			{10 * time.Second, "lan down", false, 0, 0},
			{59 * time.Second, "lan down", false, 0, 0},
			{61 * time.Second, "lan down", true, 3, 0},
			{62 * time.Second, "lan down", false, 0, 0},
			{3 * time.Minute, "lan down", true, 1, 61 * time.Second},
		}},
		{"keys apart", time.Minute, []step{
			{0, "lan down", true, 0, 0},
			{time.Second, "lan up", true, 0, 0},
			{2 * time.Second, "lan down", false, 0, 0},
			{3 * time.Second, "lan up", false, 0, 0},
		}},
		{"exactly at the limit", time.Minute, []step{{0, "a", true, 0, 0}, {time.Minute, "a", true, 0, 0}}},
		{"clock went back", time.Minute, []step{{time.Hour, "a", true, 0, 0}, {0, "a", true, 0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(tt.every)
			for i, s := range tt.steps {
				e := ev("warning", "path", s.text)
				e.Time = t0.Add(s.at)
				a, ok := l.admit(e, e.Time)
				if ok != s.ok {
					t.Fatalf("step %d (%v %q): got ok %v, want %v", i, s.at, s.text, ok, s.ok)
				}
				if !ok {
					continue
				}
				if a.held != s.held {
					t.Errorf("step %d: got held %d, want %d", i, a.held, s.held)
				}
				if s.held > 0 && !a.since.Equal(t0.Add(s.sinceFrom)) {
					t.Errorf("step %d: got since %v, want %v", i, a.since, t0.Add(s.sinceFrom))
				}
				if a.Event != e {
					t.Errorf("step %d: got event %+v, want %+v", i, a.Event, e)
				}
			}
		})
	}
}

// TestLimiterFlush: when a window ends with events held, the latest of
// them goes out, so the last state of a flapping path is not hidden.
func TestLimiterFlush(t *testing.T) {
	l := newLimiter(time.Minute)
	at := func(d time.Duration, text string) Event {
		e := ev("warning", "path", text)
		e.Time = t0.Add(d)
		return e
	}
	for _, e := range []Event{at(0, "lan down"), at(time.Second, "lan up"), at(10*time.Second, "lan down"),
		at(11*time.Second, "lan up"), at(20*time.Second, "lan down")} {
		l.admit(e, e.Time)
	}
	if got, want := l.next(), t0.Add(time.Minute); !got.Equal(want) {
		t.Fatalf("got next %v, want %v", got, want)
	}
	if got := l.flush(t0.Add(59 * time.Second)); len(got) != 0 {
		t.Fatalf("got %d alerts before the window ended, want 0", len(got))
	}
	got := l.flush(t0.Add(time.Minute))
	if len(got) != 1 || got[0].Text != "lan down" || got[0].held != 1 || !got[0].since.Equal(t0) ||
		!got[0].Time.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("got %+v, want the 'lan down' of +20s carrying 1 more since t0", got)
	}
	got = l.flush(t0.Add(time.Minute + time.Second))
	if len(got) != 1 || got[0].Text != "lan up" || got[0].held != 0 {
		t.Fatalf("got %+v, want the held 'lan up' with no count", got)
	}
	// Just flushed: a new 'lan down' waits for the window of the flush.
	if _, ok := l.admit(at(61*time.Second, "lan down"), t0.Add(61*time.Second)); ok {
		t.Errorf("got ok right after a flush, want held")
	}
	if got := l.flush(t0.Add(time.Hour)); len(got) != 1 {
		t.Errorf("got %d alerts, want 1", len(got))
	}
	if got := l.flush(t0.Add(2 * time.Hour)); len(got) != 0 || l.size() != 0 || !l.next().IsZero() {
		t.Errorf("got %d alerts and %d keys, want an empty limiter", len(got), l.size())
	}
}

// TestLimiterPrune: texts that change every time (a number in them) do
// not grow the limiter beyond the keys of one window.
func TestLimiterPrune(t *testing.T) {
	l := newLimiter(time.Second)
	for i := range 10000 {
		e := ev("warning", "agent", fmt.Sprintf("latency %d ms", i))
		e.Time = t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if _, ok := l.admit(e, e.Time); !ok {
			t.Fatalf("event %d held, want sent (every text differs)", i)
		}
	}
	if l.size() > 2*minPrune {
		t.Errorf("got %d keys, want at most %d", l.size(), 2*minPrune)
	}
}
