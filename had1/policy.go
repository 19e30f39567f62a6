package had1

import "time"

// Policy decides when a process that exited or hung is started again. It
// is pure: the supervisor loop passes the time in.
type Policy struct {
	BackoffMin  time.Duration // delay before the second quick restart in a row
	BackoffMax  time.Duration // the delay doubles up to this
	MaxRestarts int           // more restarts than this within Window: give up
	Window      time.Duration
	// Stable: a process that ran this long before dying gets an immediate
	// restart again, as if it had never failed.
	Stable time.Duration
}

// Restarts is one process's restart history, for Policy.Next.
type Restarts struct {
	times []time.Duration
	quick int // restarts in a row after short runs
}

// Next records a restart at now of a process that ran for ranFor and says
// how long to wait before starting it, or that the node should give up.
// The first restart is immediate: a kill -9 must not become a failover.
func (p Policy) Next(r *Restarts, now, ranFor time.Duration) (delay time.Duration, giveUp bool) {
	kept := r.times[:0]
	for _, t := range r.times {
		if now-t < p.Window {
			kept = append(kept, t)
		}
	}
	r.times = append(kept, now)
	if len(r.times) > p.MaxRestarts {
		return 0, true
	}
	if ranFor >= p.Stable {
		r.quick = 0
	}
	r.quick++
	if r.quick == 1 {
		return 0, false
	}
	delay = p.BackoffMin
	for i := 2; i < r.quick && delay < p.BackoffMax; i++ {
		delay *= 2
	}
	return min(delay, p.BackoffMax), false
}
