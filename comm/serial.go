package comm

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
)

// serialQueue is how many frames may wait for a slow serial line. A
// 93-byte frame takes 48 ms at 19200 baud (8N1: 10 bits a byte), so a
// deeper queue would only deliver stale heartbeats late; frames beyond it
// are dropped (ErrBusy).
const serialQueue = 2

// port is what a Serial needs of an open serial device.
type port = io.ReadWriteCloser

// Serial is an RS-232 heartbeat path (termios, 8N1; see tty_linux.go). It frames
// each wire frame with wire.AppendSerial and finds frames again in the byte
// stream with a wire.Deframer, skipping and counting noise.
//
// The device is opened by its path and reopened by its path after any
// failure, with a short backoff: when the other end goes away (socat
// killed, a USB adapter unplugged) every Read fails with "port closed"
// for ever and Write with EIO (libraries.md §5), and the device that comes
// back may be a new one behind the same name (a new /dev/pts number behind
// socat's link). Writes have no timeout, so they run on their own
// goroutine behind a small queue: a stuck line drops frames, it never
// holds up the sender's other paths.
type Serial struct {
	name  string
	ports *reopener[port]

	out  chan *serialBuf // frames waiting for the writer
	free chan *serialBuf // buffers not in out
	stop chan struct{}
	done chan struct{} // the writer has exited
	once sync.Once

	// Receive side: used by Recv's goroutine only, but noise is read by
	// the receiver's loop.
	d wire.Deframer
	// rbuf holds several frames: a read that fills it says more input may
	// wait unannounced (tty.more), and that check of an empty line is a
	// blocking read, which wakes Go's monitor thread. A frame-sized buffer
	// was filled by every frame.
	rbuf    [8 * wire.MaxSerialFrame]byte
	pending []byte
	noise   atomic.Uint64
}

type serialBuf struct {
	b [wire.MaxSerialFrame]byte
	n int
}

var _ Link = (*Serial)(nil)

// OpenSerial returns the serial path name on device at baud, 8N1. It does
// not fail when the device is missing: the path opens it when it appears,
// and logs the outage once. flush discards what the line received while
// nobody read it, at every open: the receiver sets it, so that frames
// queued while the node was down or the receiver restarting (requests
// meant for an earlier life of this node) are never acted on. The sender
// must not: input is one queue per tty, shared with the receiver.
func OpenSerial(name, device string, baud int, flush bool, log zerolog.Logger) *Serial {
	return newSerial(name, func() (port, error) { return openTTY(device, baud, flush) }, log)
}

// newSerial is OpenSerial over any byte stream, for tests.
func newSerial(name string, open func() (port, error), log zerolog.Logger) *Serial {
	s := &Serial{
		name:  name,
		ports: newReopener(name, open, log),
		out:   make(chan *serialBuf, serialQueue),
		free:  make(chan *serialBuf, serialQueue),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for range serialQueue {
		s.free <- new(serialBuf)
	}
	go s.writer()
	return s
}

// Send queues frame for the writer. It returns ErrBusy when the queue is
// full, and an error while the device is away; either way the frame is
// dropped.
func (s *Serial) Send(frame []byte) error {
	if len(frame) == 0 || len(frame) > wire.MaxSerialPayload {
		return fmt.Errorf("send on %s: frame of %d bytes, want 1..%d", s.name, len(frame), wire.MaxSerialPayload)
	}
	if s.ports.isDown() {
		return fmt.Errorf("send on %s: %w", s.name, errDown)
	}
	var b *serialBuf
	select {
	case b = <-s.free:
	default:
		return ErrBusy
	}
	b.n = len(wire.AppendSerial(b.b[:0], frame))
	s.out <- b // never blocks: out has room for every buffer
	return nil
}

// writer writes queued frames, and during an outage reopens the device
// by itself: Send refuses frames while the device is away, so no frame
// would ever make it try.
func (s *Serial) writer() {
	defer close(s.done)
	for {
		if s.ports.isDown() {
			s.discardQueued() // stale by the time the device is back
			if !s.ports.wait() {
				return
			}
			if x, err := s.ports.acquire(); err == nil {
				s.ports.release(x, nil)
			}
			continue
		}
		select {
		case <-s.stop:
			return
		case b := <-s.out:
			s.write(b.b[:b.n])
			s.free <- b
		}
	}
}

func (s *Serial) discardQueued() {
	for {
		select {
		case b := <-s.out:
			s.free <- b
		default:
			return
		}
	}
}

func (s *Serial) write(p []byte) {
	x, err := s.ports.acquire()
	if err != nil {
		return // down: the frame is dropped, the outage already logged
	}
	for len(p) > 0 && err == nil {
		var n int
		n, err = x.h.Write(p)
		p = p[n:]
		if n == 0 && err == nil {
			err = io.ErrShortWrite
		}
	}
	s.ports.release(x, err)
}

// Recv returns the next framed payload whose length and CRC hold; noise
// around it is counted in Dropped. It reopens the device as needed and
// returns net.ErrClosed once the path is closed.
func (s *Serial) Recv() ([]byte, error) {
	for {
		if p, ok := s.next(); ok {
			return p, nil
		}
		x, err := s.ports.acquire()
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if err != nil {
			if !s.ports.wait() {
				return nil, net.ErrClosed
			}
			continue
		}
		n, err := x.h.Read(s.rbuf[:])
		s.ports.release(x, err)
		if s.ports.isClosed() {
			return nil, net.ErrClosed
		}
		s.pending = s.rbuf[:max(n, 0)]
	}
}

// next returns the next good payload in the bytes read so far (pending
// and the deframer's buffer), or false once they hold no more: then the
// line must be read again.
func (s *Serial) next() ([]byte, bool) {
	for {
		p, ok := s.d.Next()
		s.countNoise()
		if ok {
			return p, true
		}
		if len(s.pending) == 0 {
			return nil, false
		}
		s.pending = s.pending[s.d.Feed(s.pending):]
	}
}

func (s *Serial) countNoise() {
	st := s.d.Stats()
	s.noise.Store(st.Garbage + st.BadCRC)
}

// Dropped reports the noise skipped so far.
func (s *Serial) Dropped() Drops { return Drops{Noise: s.noise.Load()} }

// Close closes the device and stops the writer; a blocked Recv returns.
func (s *Serial) Close() error {
	var err error
	s.once.Do(func() {
		err = s.ports.close()
		close(s.stop)
	})
	return err
}
