package comm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
	"github.com/hadcluster/had/sleeper"
)

// ReceiverOptions configure a Receiver.
type ReceiverOptions struct {
	Cluster uint32
	Peer    uint8 // the peer's node id: frames from any other node are dropped
	// Warntime: a gap between the peer's frames longer than this is a
	// late heartbeat (logged). Deadtime: a path silent this long is down;
	// the peer silent this long on every path is OVERTIME.
	Warntime time.Duration
	Deadtime time.Duration
	// Liveness, HangTimeout: as for the sender.
	Liveness    time.Duration
	HangTimeout time.Duration

	Table *shm.Table
	Codec *wire.Codec // verifies with every key of its keyring
	Paths []Path      // the receiver owns them: Run closes them
	Log   zerolog.Logger
}

// Receiver receives the peer's frames on every path, drops and counts what
// is not authentic or not new, and writes the rest to the table for had2:
// SlotPeer (the last frame; OVERTIME while the peer is silent), the ring
// of control messages, one slot per path, and its own counters.
type Receiver struct {
	o   ReceiverOptions
	t   *shm.Table
	log zerolog.Logger

	mu     sync.Mutex // the pumps and the timer loop take turns
	own    *daemon.Slot
	peer   slots.Peer
	replay wire.Replay
	recent [recentWindow]recentSeq
	paths  []pathState
	loss   *lossTracker // what each path delivered of the peer's latest frames

	start      int64   // shm.Now at Run
	peerQuiet  silence // the peer's silence: since start, or the last accepted frame
	heardSince bool    // a frame was accepted since start
	deferred   bool    // this silence reached the dead time only thanks to own stalls (logged)
	warned     [len(dropReasons)]int64
	stalls     stallMeter // the timer loop's own lateness

	sl      *sleeper.Sleeper // the timer loop's, set by Run before the pumps start
	planned int64            // when the timer loop is to wake next (shm.Now); 0: at once
	loops   int              // the timer loop's runs (tested)
}

type pathState struct {
	rec   slots.Path
	quiet silence // since start, or the last authentic frame on the path
	seen  bool    // an authentic frame came on this path since start
	dirty bool    // rec changed and is not written yet
	drops Drops   // the link's own counts, as last added
	// lostBase is the path's all-time loss count a previous receiver left
	// in the slot; this one's tracker counts from zero on top of it.
	lostBase uint64
}

// NewReceiver checks the options and returns a Receiver; Run starts it.
func NewReceiver(o ReceiverOptions) (*Receiver, error) {
	switch {
	case o.Table == nil || o.Codec == nil:
		return nil, errors.New("new receiver: table and codec are required")
	case o.Peer == 0 || o.Peer > wire.MaxNode:
		return nil, fmt.Errorf("new receiver: peer id %d, want 1..%d", o.Peer, wire.MaxNode)
	case o.Warntime <= 0 || o.Deadtime <= 0 || o.Liveness <= 0 || o.HangTimeout <= 0:
		return nil, fmt.Errorf("new receiver: warntime %v, deadtime %v, liveness %v, hang timeout %v: all must be positive",
			o.Warntime, o.Deadtime, o.Liveness, o.HangTimeout)
	}
	if err := checkPaths(o.Paths); err != nil {
		return nil, fmt.Errorf("new receiver: %w", err)
	}
	return &Receiver{o: o, t: o.Table, log: o.Log, paths: make([]pathState, len(o.Paths)), loss: newLossTracker(len(o.Paths)),
		stalls: stallMeter{threshold: int64(stallThreshold(o.Deadtime))}}, nil
}

// Run takes the receiver's role lock (an error wrapping shm.ErrLocked when
// another receiver holds it) and receives until ctx ends; then it closes
// the paths and returns nil.
func (r *Receiver) Run(ctx context.Context) error {
	release, err := r.t.Lock(shm.SlotReceiver)
	if err != nil {
		r.closePaths()
		return fmt.Errorf("run receiver: %w", err)
	}
	defer release()
	sl, err := sleeper.New()
	if err != nil {
		r.closePaths()
		return fmt.Errorf("run receiver: %w", err)
	}
	defer sl.Close()
	r.sl = sl
	stop := context.AfterFunc(ctx, sl.Wake)
	defer stop()
	r.mu.Lock()
	r.restore(shm.Now())
	r.mu.Unlock()

	var wg sync.WaitGroup
	for i := range r.paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pump(i)
		}()
	}
	for {
		woke := shm.Now() // before the lock: a pump holding it is not a stall
		r.mu.Lock()
		r.loops++
		if r.planned != 0 {
			r.ownStall(r.planned, woke)
		}
		now := shm.Now()
		r.plan(now, r.tick(now))
		planned := r.planned
		r.mu.Unlock()
		if ctx.Err() != nil {
			break
		}
		sl.Sleep(planned)
	}
	r.closePaths()
	wg.Wait()
	r.mu.Lock()
	r.own.Rec.Phase = slots.PhaseStopping
	r.own.Write(shm.Now())
	r.mu.Unlock()
	r.log.Info().Uint64("accepted", r.peer.Accepted).Msg("receiver stopped")
	return nil
}

// plan sets when the timer loop wakes next, given the timers' next due
// time. A frame only ever sets deadlines at least Deadtime after its
// arrival, so sleeping no longer than Deadtime never misses one.
func (r *Receiver) plan(now, next int64) {
	r.planned = now + max(min(next-now, int64(r.o.Deadtime)), 0)
}

// tickEarly runs the timer loop's work in a frame's wake-up when the loop
// is due to wake within half a liveness period, bumping the slot early,
// and postpones the loop's wake-up: while the peer's frames come, the loop
// is not woken at all (a wake-up is the idle budget's unit, package
// sleeper). The timers still run, and the bump still says so. r.mu is
// held.
func (r *Receiver) tickEarly(now int64) {
	if r.planned-now >= int64(r.o.Liveness)/2 {
		return
	}
	r.own.Write(now)
	r.plan(now, r.tick(now))
	r.sl.Postpone(r.planned)
}

func (r *Receiver) closePaths() {
	for _, p := range r.o.Paths {
		p.Link.Close()
	}
}

// pump hands path i's frames to the receiver until the link is closed.
func (r *Receiver) pump(i int) {
	link := r.o.Paths[i].Link
	for {
		b, err := link.Recv()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				r.log.Error().Str("path", r.o.Paths[i].Name).Err(err).Msg("path stopped receiving")
			}
			return
		}
		r.mu.Lock()
		now := shm.Now()
		r.handle(i, b, now, time.Now().UnixNano())
		r.tickEarly(now)
		r.mu.Unlock()
	}
}

// restore takes over from the previous receiver of this table: its
// counters and, above all, its replay window, kept in SlotPeer so that a
// restart does not let old frames in again. The silence clocks start now:
// a timestamp left in the table by a receiver long dead says nothing about
// the peer, and must not raise OVERTIME.
func (r *Receiver) restore(now int64) {
	own, whole := daemon.NewSlot(r.t, shm.SlotReceiver, r.o.Liveness, r.o.HangTimeout)
	r.own, r.start = own, now
	r.peerQuiet.heard(now)
	r.stalls.count, r.stalls.longest = own.Rec.Extra[slots.ExtraStalls], int64(own.Rec.Extra[slots.ExtraMaxStall])
	if !whole {
		r.log.Error().Msg("own slot torn by a killed receiver; drop counters start again")
	}
	rec, err := r.t.Read(shm.SlotPeer)
	switch {
	case errors.Is(err, shm.ErrTorn):
		r.rebuildPeer()
	case rec.Type == shm.TypePeer:
		r.peer = slots.ParsePeer(rec)
	}
	r.replay = wire.Replay{Epoch: r.peer.Last.Epoch, Seq: r.peer.Last.Seq}
	// SlotPeer is written with every frame, the own slot only at liveness
	// bumps: the former has the true count.
	own.Rec.Extra[slots.ExtraAccepted] = max(own.Rec.Extra[slots.ExtraAccepted], r.peer.Accepted)
	if r.peer.Accepted > 0 {
		r.recent[r.peer.Last.Seq%recentWindow] = recentSeq{seq: r.peer.Last.Seq, paths: pathBit(int(r.peer.Last.Path))}
	}
	for i := range r.paths {
		p := &r.paths[i]
		name := r.o.Paths[i].Name
		if rec, err := r.t.Read(shm.SlotPath0 + i); (err == nil || !errors.Is(err, shm.ErrTorn)) && rec.Type == shm.TypePath {
			if old := slots.ParsePath(rec); old.Name == name {
				p.rec = old // same path: its counters and up/down state carry on
				p.lostBase = old.Lost
			}
		}
		p.rec.Name = name
		p.quiet.heard(now)
		r.t.Write(shm.SlotPath0+i, p.rec.Record())
	}
	// Slots of paths no longer configured would show a path that is gone.
	for i := len(r.paths); i < shm.MaxPaths; i++ {
		if rec, _ := r.t.Read(shm.SlotPath0 + i); rec.Type == shm.TypePath {
			r.t.Write(shm.SlotPath0+i, shm.Record{})
		}
	}
	own.Write(now)
	r.log.Info().Uint64("epoch", r.replay.Epoch).Uint64("seq", r.replay.Seq).Uint64("messages", r.peer.Messages).
		Bool("overtime", r.peer.Overtime).Int("paths", len(r.paths)).Msg("receiver started")
}

// rebuildPeer recovers what it can of a SlotPeer torn by a receiver killed
// mid-write. The ring is written before SlotPeer, so its newest entry
// bounds the message count and the replay window from below; heartbeats
// accepted after it may be replayed once, which had2 ignores (it keeps its
// own newest sequence).
func (r *Receiver) rebuildPeer() {
	for k := range shm.RingSize {
		rec, err := r.t.Read(shm.SlotRing0 + k)
		if err != nil && !errors.Is(err, shm.ErrStale) || rec.Type != shm.TypeMessage {
			continue
		}
		n, f := slots.ParseMessage(rec)
		if n > r.peer.Messages {
			r.peer.Messages = n
		}
		if f.Epoch > r.peer.Last.Epoch || f.Epoch == r.peer.Last.Epoch && f.Seq > r.peer.Last.Seq {
			r.peer.Last = f
		}
	}
	r.peer.Accepted = r.own.Rec.Extra[slots.ExtraAccepted]
	r.t.Write(shm.SlotPeer, r.peer.Record())
	r.log.Error().Uint64("messages", r.peer.Messages).Uint64("seq", r.peer.Last.Seq).
		Msg("peer slot torn by a killed receiver; replay window rebuilt from the message ring")
}
