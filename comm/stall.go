package comm

import "time"

// A daemon on a busy machine may not be run for a while: its timer fires
// late, its loop wakes long after it asked to. keepalived logs "A thread
// timer expired N s ago" and corosync "not scheduled for N ms" for the
// same thing (notes/anchors.md §3.4). For the receiver such a stall is
// dangerous: the peer's frames wait unread in the socket while the silence
// clock runs, and the timer goroutine, which the Go scheduler runs before
// the ones reading the sockets, would declare OVERTIME on a peer that kept
// talking. So the receiver measures its own lateness and does not count it
// against the peer; the sender only measures and reports it.

// stallGrace is added to the credit of a stall: after one, the goroutines
// that read the paths must get to run before the silence is judged, and
// the loop's timers have a resolution of about a millisecond.
const stallGrace = 2 * time.Millisecond

// stallThreshold is the lateness that counts as a stall for a loop with
// the given period (the receiver's dead time, the sender's interval): a
// sixteenth of it, at least a millisecond. Timer slop on an idle machine
// is well under that; a process that was not run for that long was
// preempted or starved.
func stallThreshold(period time.Duration) time.Duration {
	return max(period/16, time.Millisecond)
}

// stallMeter counts a loop's stalls: wake-ups later than planned by more
// than its threshold.
type stallMeter struct {
	threshold int64
	count     uint64
	longest   int64
	logged    int64  // when a stall was last logged
	unlogged  uint64 // stalls since
}

// woke records a wake-up planned for planned that happened at now (both
// shm.Now) and returns its lag when it is a stall, else 0.
func (m *stallMeter) woke(planned, now int64) int64 {
	lag := now - planned
	if lag <= m.threshold {
		return 0
	}
	m.count++
	m.longest = max(m.longest, lag)
	m.unlogged++
	return lag
}

// stallLogEvery spaces the warnings about stalls: the first says what is
// going on, a flood of them on a loaded machine would not add to it (the
// count is in the slot and the console).
const stallLogEvery = int64(10 * time.Second)

// shouldLog reports whether a stall at now is worth a log line, and how
// many stalls the line covers; it resets that count.
func (m *stallMeter) shouldLog(now int64) (bool, uint64) {
	if m.logged != 0 && now-m.logged < stallLogEvery {
		return false, 0
	}
	n := m.unlogged
	m.logged, m.unlogged = now, 0
	return true, n
}

// silence is the clock of one silence (of the peer, or of one path): since
// the last frame, not counting the listener's own longest stall in it.
type silence struct {
	last   int64 // the last frame heard, or when listening began
	credit int64 // the longest own stall (plus stallGrace) since last
}

// heard ends the silence at now.
func (s *silence) heard(now int64) { s.last, s.credit = now, 0 }

// stalled credits a stall of lag to the silence. Only the longest stall of
// a silence counts, never their sum: a listener that keeps stalling delays
// a real failover by one stall at most, never indefinitely. One stall is
// always covered: a loop planned to wake by the deadline, so after a lag L
// it wakes before the deadline moved by L + stallGrace, and the readers
// run first.
func (s *silence) stalled(lag int64) {
	s.credit = max(s.credit, lag+int64(stallGrace))
}

// deadline is when the silence reaches dead.
func (s silence) deadline(dead int64) int64 { return s.last + dead + s.credit }

// over reports whether the silence has reached dead by now.
func (s silence) over(now, dead int64) bool { return now >= s.deadline(dead) }
