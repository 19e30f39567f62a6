package daemon

import (
	"testing"
	"time"

	"github.com/hadcluster/had/shm"
)

func TestNextOnGrid(t *testing.T) {
	const p = 250 * time.Millisecond
	tests := []struct {
		now, want int64
	}{
		{0, int64(p)},
		{1, int64(p)},
		{int64(p) - 1, int64(p)},
		{int64(p), 2 * int64(p)}, // strictly after
		{int64(p) + 1, 2 * int64(p)},
	}
	for _, tt := range tests {
		if got := NextOnGrid(tt.now, p); got != tt.want {
			t.Errorf("NextOnGrid(%d, %v) = %d, want %d", tt.now, p, got, tt.want)
		}
	}
}

func TestBumpAfter(t *testing.T) {
	const p = int64(250 * time.Millisecond)
	tests := []struct {
		name      string
		last, due int64
	}{
		{"on the grid: the next point", 4 * p, 5 * p},
		{"just after a point: the next", 4*p + 1, 5 * p},
		{"half a period before a point: that point", 5*p - p/2, 5 * p},
		{"less than half before: the one after", 5*p - p/2 + 1, 6 * p},
	}
	for _, tt := range tests {
		got := BumpAfter(tt.last, time.Duration(p))
		if got != tt.due {
			t.Errorf("%s: BumpAfter(%d) = %d, want %d", tt.name, tt.last, got, tt.due)
		}
		if gap := got - tt.last; gap < p/2 || gap > 3*p/2 {
			t.Errorf("%s: gap %d outside [p/2, 1.5p]", tt.name, gap)
		}
	}
}

// Grids started at different moments tick at the same points, the whole
// multiples of their period on the node's monotonic clock: that is what
// saves the wake-ups.
func TestGridsTickOnTheGrid(t *testing.T) {
	const period = 100 * time.Millisecond
	a := NewGrid(period)
	defer a.Stop()
	time.Sleep(period / 3)
	b := NewGrid(period)
	defer b.Stop()
	for range 3 {
		for _, g := range []*Grid{a, b} {
			<-g.C
			// Received a little after the point; half a period is far
			// more lateness than a loaded machine gives.
			if phase := time.Duration(shm.Now() % int64(period)); phase >= period/2 {
				t.Fatalf("tick received %v after a grid point, want shortly after (period %v)", phase, period)
			}
		}
	}
}

func TestGridStopAndReset(t *testing.T) {
	g := NewGrid(10 * time.Millisecond)
	g.Stop()
	select {
	case <-g.C: // a tick sent before Stop may be there
	default:
	}
	select {
	case <-g.C:
		t.Fatal("a stopped grid ticked")
	case <-time.After(50 * time.Millisecond):
	}
	g.Reset(10 * time.Millisecond)
	select {
	case <-g.C:
	case <-time.After(5 * time.Second):
		t.Fatal("a reset grid did not tick")
	}
	g.Stop()
}

// TestGridClockWithoutSleeper: with no sleeper (no descriptors left), the
// clock keeps time with a Go timer.
func TestGridClockWithoutSleeper(t *testing.T) {
	c := &clock{started: true, kick: make(chan struct{}, 1)}
	go c.run() // a clock lives as long as its process
	g := &Grid{c: make(chan time.Time, 1)}
	g.C = g.c
	c.set(g, 10*time.Millisecond)
	for range 2 {
		select {
		case <-g.C:
		case <-time.After(5 * time.Second):
			t.Fatal("no tick without a sleeper")
		}
	}
	c.set(g, 0)
}
