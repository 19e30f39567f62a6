package daemon

import (
	"sync"
	"time"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/sleeper"
)

// The periodic work of a node's daemons (liveness bumps, the keepers'
// hang checks, had1's watch of had2, the console's samples) runs on a
// grid: at whole multiples of its period on CLOCK_MONOTONIC (shm.Now), the
// same clock in every process of a node. Tickers started at different
// moments each wake the process at a phase of their own, and a wake-up is
// the idle budget's unit (package sleeper has the figures); on the grid,
// every ticker of one period in a process fires in one wake-up. Every Grid
// of a process runs on one goroutine that sleeps in a sleeper (a timerfd in
// the netpoller): a Go timer wakes the process about twice a tick (the
// netpoller waits in whole milliseconds) and Go's monitor thread with it
// (package sleeper).

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
	period time.Duration // guarded by gridClock.mu
}

// NewGrid starts a Grid of period, which must be positive.
func NewGrid(period time.Duration) *Grid {
	g := &Grid{c: make(chan time.Time, 1)}
	g.C = g.c
	g.Reset(period)
	return g
}

// Reset moves the ticker to the grid of period.
func (g *Grid) Reset(period time.Duration) {
	if period <= 0 {
		panic("daemon: non-positive grid period")
	}
	gridClock.set(g, period)
}

// Stop ends the ticks; a tick already sent stays in C.
func (g *Grid) Stop() { gridClock.set(g, 0) }

// gridClock runs every Grid of the process.
var gridClock clock

type clock struct {
	mu      sync.Mutex
	grids   map[*Grid]int64 // the running grids, and when each ticks next
	started bool
	sl      *sleeper.Sleeper // nil if none could be made: then kick and a timer
	kick    chan struct{}
}

// set starts g on the grid of period, or stops it (period 0), and has the
// clock look again.
func (c *clock) set(g *Grid, period time.Duration) {
	c.mu.Lock()
	if period == 0 {
		delete(c.grids, g)
	} else {
		if c.grids == nil {
			c.grids = make(map[*Grid]int64)
		}
		g.period = period
		c.grids[g] = NextOnGrid(shm.Now(), period)
	}
	if !c.started {
		c.started = true
		c.sl, _ = sleeper.New()
		c.kick = make(chan struct{}, 1)
		go c.run()
	}
	c.mu.Unlock()
	if c.sl != nil {
		c.sl.Wake()
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *clock) run() {
	for {
		c.mu.Lock()
		now := shm.Now()
		next := now + int64(time.Minute)
		for g, at := range c.grids {
			if at <= now {
				select {
				case g.c <- time.Now():
				default:
				}
				at = NextOnGrid(now, g.period)
				c.grids[g] = at
			}
			next = min(next, at)
		}
		c.mu.Unlock()
		c.sleep(next)
	}
}

// sleep waits until next or a set.
func (c *clock) sleep(next int64) {
	if c.sl != nil {
		c.sl.Sleep(next)
		return
	}
	t := time.NewTimer(time.Duration(next - shm.Now()))
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.kick:
	}
}
