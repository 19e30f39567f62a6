// Package commtest is an in-memory network of heartbeat paths between two
// nodes, for tests of the sender and the receiver: each path has two ends
// that behave like comm.Link (Send never blocks, Recv blocks until a frame
// or Close), and each direction of each path can be cut, made lossy or
// delayed. Loss is drawn from one seeded source, so a failing run can be
// repeated with its seed.
//
// The package does not import comm (comm's own tests use it); comm's tests
// check that *End satisfies comm.Link.
package commtest

import (
	"errors"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Inbox is how many frames an end holds unread before it drops more, like
// a socket's receive buffer.
const Inbox = 256

// ErrTimeout is RecvTimeout's error when no frame came in time.
var ErrTimeout = errors.New("commtest: no frame in time")

// Network makes paths and draws their losses from one seeded source.
type Network struct {
	seed int64
	mu   sync.Mutex
	rng  *rand.Rand
}

// New returns a network whose random losses follow seed.
func New(seed int64) *Network {
	return &Network{seed: seed, rng: rand.New(rand.NewSource(seed))}
}

// Seed is the seed the network was made with; put it in failure messages.
func (n *Network) Seed() int64 { return n.seed }

func (n *Network) lose(p float64) bool {
	if p <= 0 {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rng.Float64() < p
}

// Path is one heartbeat path: A is node 1's end, B node 2's.
type Path struct {
	Name string
	A, B *End
}

// Path makes a new path with no faults.
func (n *Network) Path(name string) *Path {
	a := newEnd(n, name+"/a")
	b := newEnd(n, name+"/b")
	a.peer, b.peer = b, a
	return &Path{Name: name, A: a, B: b}
}

// Cut stops both directions; Heal undoes it.
func (p *Path) Cut() { p.A.SetCut(true); p.B.SetCut(true) }

// Heal restores both directions after Cut.
func (p *Path) Heal() { p.A.SetCut(false); p.B.SetCut(false) }

// End is one end of a path.
type End struct {
	net    *Network
	name   string
	peer   *End
	inbox  chan []byte
	closed chan struct{}
	once   sync.Once

	mu    sync.Mutex // faults of the direction from this end to its peer
	cut   bool
	loss  float64
	delay time.Duration
	late  chan delayed // frames waiting out the delay, in order

	sent, lost, overflow, delivered atomic.Uint64
}

type delayed struct {
	due   time.Time
	frame []byte
}

func newEnd(n *Network, name string) *End {
	return &End{net: n, name: name, inbox: make(chan []byte, Inbox), closed: make(chan struct{})}
}

// Name is the path's name and the end ("udp0/a").
func (e *End) Name() string { return e.name }

// SetCut cuts (or restores) the direction from e to its peer: frames sent
// while cut vanish.
func (e *End) SetCut(cut bool) {
	e.mu.Lock()
	e.cut = cut
	e.mu.Unlock()
}

// SetLoss makes each frame sent from e vanish with probability p.
func (e *End) SetLoss(p float64) {
	e.mu.Lock()
	e.loss = p
	e.mu.Unlock()
}

// SetDelay delays every frame sent from e by d, keeping their order.
func (e *End) SetDelay(d time.Duration) {
	e.mu.Lock()
	e.delay = d
	if d > 0 && e.late == nil {
		e.late = make(chan delayed, Inbox)
		go e.deliverLate(e.late)
	}
	e.mu.Unlock()
}

// Send copies frame towards the peer's end, applying this direction's
// faults. It never blocks; it fails only once e is closed.
func (e *End) Send(frame []byte) error {
	select {
	case <-e.closed:
		return net.ErrClosed
	default:
	}
	e.sent.Add(1)
	e.mu.Lock()
	cut, loss, delay, late := e.cut, e.loss, e.delay, e.late
	e.mu.Unlock()
	if cut || e.net.lose(loss) {
		e.lost.Add(1)
		return nil
	}
	b := append([]byte(nil), frame...)
	if delay > 0 {
		select {
		case late <- delayed{due: time.Now().Add(delay), frame: b}:
		default:
			e.overflow.Add(1)
		}
		return nil
	}
	e.peer.put(b, &e.overflow, &e.delivered)
	return nil
}

func (e *End) deliverLate(late chan delayed) {
	for {
		select {
		case d := <-late:
			t := time.NewTimer(time.Until(d.due))
			select {
			case <-t.C:
				e.peer.put(d.frame, &e.overflow, &e.delivered)
			case <-e.closed:
				t.Stop()
				return
			}
		case <-e.closed:
			return
		}
	}
}

// put delivers b to e's inbox, or drops it when the inbox is full or e is
// closed.
func (e *End) put(b []byte, overflow, delivered *atomic.Uint64) {
	select {
	case <-e.closed:
		return
	default:
	}
	select {
	case e.inbox <- b:
		delivered.Add(1)
	default:
		overflow.Add(1)
	}
}

// Inject delivers b to e as if the peer had sent it, past every fault:
// for garbage, forgeries and replays.
func (e *End) Inject(b []byte) {
	var sink atomic.Uint64
	e.put(append([]byte(nil), b...), &sink, &sink)
}

// Recv blocks until a frame arrives; it returns net.ErrClosed once e is
// closed.
func (e *End) Recv() ([]byte, error) {
	select {
	case b := <-e.inbox:
		return b, nil
	case <-e.closed:
		return nil, net.ErrClosed
	}
}

// RecvTimeout is Recv that gives up after d with ErrTimeout.
func (e *End) RecvTimeout(d time.Duration) ([]byte, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case b := <-e.inbox:
		return b, nil
	case <-e.closed:
		return nil, net.ErrClosed
	case <-t.C:
		return nil, ErrTimeout
	}
}

// TryRecv returns a frame that has arrived, without waiting.
func (e *End) TryRecv() ([]byte, bool) {
	select {
	case b := <-e.inbox:
		return b, true
	default:
		return nil, false
	}
}

// Close ends e: Recv returns net.ErrClosed, Send fails, and frames sent to
// e vanish.
func (e *End) Close() error {
	e.once.Do(func() { close(e.closed) })
	return nil
}

// Stats counts the frames sent from e.
type Stats struct {
	Sent      uint64 // Send calls that were accepted
	Lost      uint64 // vanished by a cut or by loss
	Overflow  uint64 // dropped because the peer's inbox or the delay line was full
	Delivered uint64 // put in the peer's inbox
}

// Stats returns e's counts so far.
func (e *End) Stats() Stats {
	return Stats{Sent: e.sent.Load(), Lost: e.lost.Load(), Overflow: e.overflow.Load(), Delivered: e.delivered.Load()}
}
