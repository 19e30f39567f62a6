package logging

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Async is an io.Writer that never blocks its caller: each line is copied
// into a queue that one goroutine writes out. The daemons on the heartbeat
// path log through it, because a write to stderr can block for long: on a
// file, behind another process holding the inode lock (every process of a
// node appends to the same log, and a time-shared one preempted in the
// middle of its write held a realtime receiver for 1.7 s under stress-ng,
// measured); on the journal's socket, while journald, time-shared too,
// does not drain it. A full queue drops lines, and says how many once it
// has room again.
type Async struct {
	w     io.Writer
	queue chan asyncEntry

	mu      sync.Mutex
	dropped int
}

// asyncEntry is a line, or a flush marker (done set).
type asyncEntry struct {
	b    []byte
	done chan struct{}
}

// AsyncQueue is how many lines an Async holds: seconds of a daemon's
// warnings at their worst (a late heartbeat, a path down, a few a second).
const AsyncQueue = 1024

// NewAsync starts writing to w in the background. Flush before exiting.
func NewAsync(w io.Writer, size int) *Async {
	a := &Async{w: w, queue: make(chan asyncEntry, size)}
	go a.run()
	return a
}

// Write queues a copy of p; it never blocks and never fails. When the
// queue is full the line is dropped and counted.
func (a *Async) Write(p []byte) (int, error) {
	select {
	case a.queue <- asyncEntry{b: append([]byte(nil), p...)}:
	default:
		a.mu.Lock()
		a.dropped++
		a.mu.Unlock()
	}
	return len(p), nil
}

func (a *Async) run() {
	for e := range a.queue {
		if e.done != nil {
			close(e.done)
			continue
		}
		_, _ = a.w.Write(e.b) // nowhere to report a failed log write
		a.mu.Lock()
		n := a.dropped
		a.dropped = 0
		a.mu.Unlock()
		if n > 0 {
			fmt.Fprintf(a.w, `{"level":"warn","message":"%d log lines dropped: the log could not keep up"}`+"\n", n)
		}
	}
}

// Flush waits up to timeout until every line queued before it is written,
// and reports whether they were.
func (a *Async) Flush(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	done := make(chan struct{})
	select {
	case a.queue <- asyncEntry{done: done}:
	case <-t.C:
		return false
	}
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
