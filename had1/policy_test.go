package had1

import (
	"testing"
	"time"
)

func TestPolicyNext(t *testing.T) {
	p := Policy{BackoffMin: 10 * time.Millisecond, BackoffMax: 80 * time.Millisecond, MaxRestarts: 6, Window: time.Minute, Stable: 10 * time.Second}
	ms := time.Millisecond
	steps := []struct {
		now, ranFor time.Duration
		wantDelay   time.Duration
		wantGiveUp  bool
	}{
		{1000 * ms, 1000 * ms, 0, false},     // first: immediate
		{1010 * ms, 10 * ms, 10 * ms, false}, // quick again: backoff starts
		{1030 * ms, 10 * ms, 20 * ms, false},
		{1060 * ms, 10 * ms, 40 * ms, false},
		{30 * time.Second, 28 * time.Second, 0, false}, // ran long enough: immediate again
		{30100 * ms, 100 * ms, 10 * ms, false},
		{30200 * ms, 100 * ms, 0, true}, // 7 restarts within a minute
	}
	var r Restarts
	for i, s := range steps {
		d, g := p.Next(&r, s.now, s.ranFor)
		if d != s.wantDelay || g != s.wantGiveUp {
			t.Fatalf("step %d: got delay %v give up %v, want %v %v", i, d, g, s.wantDelay, s.wantGiveUp)
		}
	}
	// The window slides: a minute later the old restarts no longer count.
	if _, g := p.Next(&r, 2*time.Minute, 20*time.Second); g {
		t.Fatal("restart after the window: gave up, want a restart")
	}
}

func TestPolicyBackoffCaps(t *testing.T) {
	p := Policy{BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, MaxRestarts: 100, Window: time.Minute, Stable: time.Hour}
	var r Restarts
	var last time.Duration
	for i := 0; i < 20; i++ {
		last, _ = p.Next(&r, time.Duration(i)*time.Second, 0)
	}
	if last != 50*time.Millisecond {
		t.Fatalf("after 20 quick restarts: delay %v, want the cap 50ms", last)
	}
}
