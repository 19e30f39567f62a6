package comm

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Reopen backoff: the first attempt after a failure is immediate, then the
// wait doubles up to the maximum. A serial device comes back when socat or
// a USB adapter does, a socket when its address does; a second is soon
// enough for a path whose loss is only a warning, and rare enough to cost
// nothing.
const (
	reopenMin = 20 * time.Millisecond
	reopenMax = time.Second
)

// errDown: the handle is not open and the backoff forbids trying yet.
var errDown = errors.New("comm: link down")

// reopener keeps one handle (a serial port, a socket) open for a link: it
// opens it on demand and, after a failure, opens a new one no more often
// than its backoff allows. A failed handle is closed only once nobody uses
// it, so a file descriptor is never closed under a read or write in
// progress, and its number cannot be reused under one. It logs once when
// an outage starts and once when it ends, never per attempt.
type reopener[H io.Closer] struct {
	path string // for logs
	open func() (H, error)
	log  zerolog.Logger
	now  func() time.Time

	mu      sync.Mutex
	cur     *handle[H]
	closed  bool
	down    bool      // an outage is under way, and was logged
	since   time.Time // when it began
	next    time.Time // no open attempt before this
	backoff time.Duration
	stop    chan struct{} // closed by close
}

type handle[H io.Closer] struct {
	h      H
	users  int
	broken bool // failed or closed: never handed out again
	shut   bool // h.Close has been called
}

func (x *handle[H]) shutdown() error {
	if x.shut {
		return nil
	}
	x.shut = true
	return x.h.Close()
}

func newReopener[H io.Closer](path string, open func() (H, error), log zerolog.Logger) *reopener[H] {
	return &reopener[H]{path: path, open: open, log: log, now: time.Now, stop: make(chan struct{})}
}

// acquire returns the open handle, opening one if the backoff allows. The
// caller must release it. It fails with net.ErrClosed after close, and
// with errDown (or the open error) while the handle cannot be had.
func (r *reopener[H]) acquire() (*handle[H], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, net.ErrClosed
	}
	if r.cur == nil {
		now := r.now()
		if now.Before(r.next) {
			return nil, errDown
		}
		h, err := r.open()
		if err != nil {
			r.failed(now, err)
			return nil, err
		}
		if r.down {
			r.log.Info().Str("path", r.path).Dur("down", now.Sub(r.since)).Msg("link reopened")
		}
		r.cur, r.down, r.backoff, r.next = &handle[H]{h: h}, false, 0, time.Time{}
	}
	r.cur.users++
	return r.cur, nil
}

// release returns a handle; a non-nil err says it failed, and the next
// acquire opens a new one.
func (r *reopener[H]) release(x *handle[H], err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	x.users--
	if err != nil && !x.broken && !r.closed {
		x.broken = true
		if r.cur == x {
			r.cur = nil
		}
		r.failed(r.now(), err)
	}
	if x.broken && x.users == 0 {
		x.shutdown()
	}
}

// failed starts or continues an outage and schedules the next attempt.
func (r *reopener[H]) failed(now time.Time, err error) {
	if !r.down {
		r.down, r.since = true, now
		r.log.Warn().Str("path", r.path).Err(err).Msg("link failed, reopening")
	}
	r.next = now.Add(r.backoff)
	r.backoff = min(max(2*r.backoff, reopenMin), reopenMax)
}

// wait sleeps until the next open attempt is allowed or the reopener is
// closed, and reports whether it is still open.
func (r *reopener[H]) wait() bool {
	r.mu.Lock()
	d := r.next.Sub(r.now())
	r.mu.Unlock()
	if d <= 0 {
		return !r.isClosed()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.stop:
		return false
	}
}

func (r *reopener[H]) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// close closes the handle at once, users or not: that is what makes a
// blocked read return.
func (r *reopener[H]) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.stop)
	if r.cur != nil {
		r.cur.broken = true
		err := r.cur.shutdown()
		r.cur = nil
		return err
	}
	return nil
}

// isDown reports whether an outage is under way.
func (r *reopener[H]) isDown() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down
}
