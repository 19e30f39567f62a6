package daemon

import (
	"sync"
	"time"

	"github.com/hadcluster/had/shm"
)

// The periodic work of a node's daemons (liveness bumps, the keepers'
// hang checks, had1's watch of had2, the console's samples) runs on a
// grid: at whole multiples of its period on CLOCK_MONOTONIC (shm.Now), the
// same clock in every process of a node. Tickers started at different
// moments each wake the process at a phase of their own, and a wake-up is
// the idle budget's unit (50–150 µs of CPU on the VMs we measured, whatever
// the work); on the grid, every ticker of one period in a process fires in
// one wake-up.

// NextOnGrid is the first multiple of period strictly after now.
func NextOnGrid(now int64, period time.Duration) int64 {
	p := int64(period)
	if p <= 0 {
		return now
	}
	return (now/p + 1) * p
}

// Grid is a ticker whose ticks fall on the grid of its period. Like a
// time.Ticker it drops ticks a slow receiver misses.
type Grid struct {
	C <-chan time.Time

	c      chan time.Time
	mu     sync.Mutex
	period time.Duration
	timer  *time.Timer
	off    bool
}

// NewGrid starts a Grid of period, which must be positive.
func NewGrid(period time.Duration) *Grid {
	if period <= 0 {
		panic("daemon: non-positive grid period")
	}
	g := &Grid{c: make(chan time.Time, 1), period: period}
	g.C = g.c
	g.mu.Lock()
	defer g.mu.Unlock()
	g.timer = time.AfterFunc(g.untilNext(), g.fire)
	return g
}

func (g *Grid) untilNext() time.Duration {
	now := shm.Now()
	return time.Duration(NextOnGrid(now, g.period) - now)
}

func (g *Grid) fire() {
	select {
	case g.c <- time.Now():
	default:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.off {
		g.timer.Reset(g.untilNext())
	}
}

// Reset moves the ticker to the grid of period.
func (g *Grid) Reset(period time.Duration) {
	if period <= 0 {
		panic("daemon: non-positive grid period")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.period, g.off = period, false
	g.timer.Reset(g.untilNext())
}

// Stop ends the ticks; a tick already sent stays in C.
func (g *Grid) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.off = true
	g.timer.Stop()
}
