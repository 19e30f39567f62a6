package alerts

import "sync"

// queue is one channel's bounded FIFO of events. push never blocks: when
// the queue is full it drops the oldest event, since the newest says best
// what state the cluster is in now. The lock is held only to copy one
// event in or out, so Send waits on nothing a channel does.
type queue struct {
	mu     sync.Mutex
	buf    []Event
	head   int // index of the oldest event
	n      int
	closed bool
	wake   chan struct{} // one pending wake-up for the consumer
}

func newQueue(size int) *queue {
	return &queue{buf: make([]Event, size), wake: make(chan struct{}, 1)}
}

// push appends e; dropped tells that the oldest event was dropped to make
// room. A closed queue takes nothing (ok false).
func (q *queue) push(e Event) (ok, dropped bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false, false
	}
	if q.n == len(q.buf) {
		q.buf[q.head] = Event{}
		q.head = (q.head + 1) % len(q.buf)
		q.n--
		dropped = true
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
	q.mu.Unlock()
	q.signal()
	return true, dropped
}

// pop takes the oldest event; ok is false when the queue is empty.
func (q *queue) pop() (e Event, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return Event{}, false
	}
	e, q.buf[q.head] = q.buf[q.head], Event{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return e, true
}

// close refuses further pushes and wakes the consumer, which drains what
// is left.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// done: closed and empty, the consumer may stop.
func (q *queue) done() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed && q.n == 0
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
