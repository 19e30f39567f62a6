package comm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// SenderOptions configure a Sender.
type SenderOptions struct {
	Cluster uint32
	Node    uint8 // this node's id: the frames' sender
	// Interval is the heartbeat period.
	Interval time.Duration
	// Liveness, HangTimeout: the sender bumps its own slot about every
	// Liveness (daemon.BumpAfter) and promises to do so within HangTimeout.
	Liveness    time.Duration
	HangTimeout time.Duration
	// BrainGrace: heartbeats stop while had2's slot has not been written
	// for this long, so a node without a working had2 is taken over.
	// Zero or less disables the check.
	BrainGrace time.Duration

	Table *shm.Table
	Codec *wire.Codec // signs with its active key
	Paths []Path      // the sender owns them: Run closes them
	Log   zerolog.Logger
}

// Sender sends this node's messages to the peer on every path: a
// heartbeat every Interval carrying the state had2 last published in
// SlotSend, and every control message had2 queues there, at once (had2
// rings shm.BellSender after writing the slot).
type Sender struct {
	o   SenderOptions
	t   *shm.Table
	log zerolog.Logger

	epoch   uint64
	seq     uint64 // the last sequence number used
	ctlSeen uint64 // control messages of SlotSend sent so far
	own     *daemon.Slot

	send     slots.Send // the newest whole SlotSend
	haveSend bool       // had2 (or had1 in its stead) has written SlotSend
	beatAt   int64      // the next heartbeat is due (shm.Now clock)
	last     beat       // content of the last heartbeat sent
	sentBeat bool

	start     int64 // when Run started (shm.Now clock)
	had2Stamp int64 // newest write of had2's slot seen; 0: never written
	brainless bool

	pathDown []bool
	frames   []wire.Frame
	buf      []byte

	stalls stallMeter // the loop's own lateness
}

type beat struct {
	state wire.State
	held  wire.Groups
	flags wire.Flags
}

// NewSender checks the options and returns a Sender; Run starts it.
func NewSender(o SenderOptions) (*Sender, error) {
	switch {
	case o.Table == nil || o.Codec == nil:
		return nil, errors.New("new sender: table and codec are required")
	case o.Node == 0 || o.Node > wire.MaxNode:
		return nil, fmt.Errorf("new sender: node id %d, want 1..%d", o.Node, wire.MaxNode)
	case o.Interval <= 0 || o.Liveness <= 0 || o.HangTimeout <= 0:
		return nil, fmt.Errorf("new sender: interval %v, liveness %v, hang timeout %v: all must be positive",
			o.Interval, o.Liveness, o.HangTimeout)
	case o.Table.Epoch() == 0:
		return nil, errors.New("new sender: table epoch is 0; frames need an epoch of at least 1")
	}
	if err := checkPaths(o.Paths); err != nil {
		return nil, fmt.Errorf("new sender: %w", err)
	}
	return &Sender{
		o: o, t: o.Table, log: o.Log, epoch: o.Table.Epoch(),
		pathDown: make([]bool, len(o.Paths)),
		// A quarter of the interval: a heartbeat that much late is the
		// sender's doing, not the network's.
		stalls: stallMeter{threshold: int64(stallThreshold(4 * o.Interval))},
		frames: make([]wire.Frame, 0, slots.SendQueue+1),
		buf:    make([]byte, 0, wire.Size),
	}, nil
}

// Run takes the sender's role lock (an error wrapping shm.ErrLocked when
// another sender holds it) and sends until ctx ends; then it closes the
// paths and returns nil.
func (s *Sender) Run(ctx context.Context) error {
	defer s.closePaths()
	release, err := s.t.Lock(shm.SlotSender)
	if err != nil {
		return fmt.Errorf("run sender: %w", err)
	}
	defer release()
	sl, err := s.t.BellSleeper(shm.BellSender)
	if err != nil {
		return fmt.Errorf("run sender: %w", err)
	}
	defer sl.Close()
	stop := context.AfterFunc(ctx, sl.Wake)
	defer stop()
	s.restore(shm.Now())
	s.log.Info().Uint64("epoch", s.epoch).Uint64("seq", s.seq).Int("paths", len(s.o.Paths)).Msg("sender started")
	// A Ring while step runs leaves a byte in the bell's pipe, so the
	// Sleep after it returns at once: no news is missed.
	var planned int64 // when the loop meant to wake next, unless rung
	for ctx.Err() == nil {
		now := shm.Now()
		if planned != 0 {
			s.ownStall(planned, now)
		}
		next := s.step(now, time.Now().UnixNano())
		planned = max(next, now)
		sl.Sleep(next)
	}
	s.own.Rec.Phase = slots.PhaseStopping
	s.own.Write(shm.Now())
	s.log.Info().Uint64("seq", s.seq).Msg("sender stopped")
	return nil
}

func (s *Sender) closePaths() {
	for _, p := range s.o.Paths {
		p.Link.Close()
	}
}

// restore continues where the previous sender of this table left off: the
// sequence number (frames of one epoch must keep growing, or the peer
// drops them as replays) and the control messages already sent.
func (s *Sender) restore(now int64) {
	own, whole := daemon.NewSlot(s.t, shm.SlotSender, s.o.Liveness, s.o.HangTimeout)
	s.own, s.start, s.beatAt = own, now, now
	s.stalls.count, s.stalls.longest = own.Rec.Extra[slots.ExtraStalls], int64(own.Rec.Extra[slots.ExtraMaxStall])
	s.readSend()
	if whole {
		s.seq, s.ctlSeen = own.Rec.Extra[slots.ExtraSeq], own.Rec.Extra[slots.ExtraControlSeen]
	} else {
		// The previous sender died in the middle of writing its slot, so
		// the sequence number is lost. One microsecond of the table's age
		// per number is beyond any sequence a sender can have used (it
		// sends tens of frames a second, not a million), so the peer
		// accepts what follows. Queued control messages are skipped:
		// had2 repeats them until they are acked.
		s.seq = uint64(max(now-s.t.Created(), 0) / 1000)
		s.ctlSeen = s.send.Count
		s.log.Error().Uint64("seq", s.seq).Msg("own slot torn by a killed sender; sequence restarted above the table's age in µs")
	}
	if s.ctlSeen > s.send.Count {
		s.ctlSeen = s.send.Count
	}
	own.Rec.Extra[slots.ExtraSeq], own.Rec.Extra[slots.ExtraControlSeen] = s.seq, s.ctlSeen
	own.Write(now)
}

// readSend refreshes the copy of SlotSend; a torn read keeps the last one.
func (s *Sender) readSend() {
	r, err := s.t.Read(shm.SlotSend)
	if err != nil && !errors.Is(err, shm.ErrStale) || r.Type != shm.TypeSend {
		return
	}
	s.send, s.haveSend = slots.ParseSend(r), true
}

// step does whatever is due at now (shm.Now clock; wall is the wall clock
// in unix ns for the frames) and returns when it is due next.
func (s *Sender) step(now, wall int64) int64 {
	s.readSend()
	s.checkBrain(now)
	s.frames = s.frames[:0]
	if s.send.Count != s.ctlSeen {
		s.queueControl()
	}
	b := beat{s.send.State, s.send.Held, s.send.Flags}
	changed := s.sentBeat && b != s.last
	if s.haveSend && (now >= s.beatAt || changed) {
		if !s.brainless && b.state.Valid() {
			s.frames = append(s.frames, wire.Frame{Kind: wire.OK, Flags: b.flags})
			s.last, s.sentBeat = b, true
		}
		// A new state goes out at once and starts a new period; otherwise
		// the period keeps its phase, unless the loop fell a whole period
		// behind.
		s.beatAt += int64(s.o.Interval)
		if changed || s.beatAt <= now {
			s.beatAt = now + int64(s.o.Interval)
		}
	}
	if len(s.frames) > 0 {
		s.transmit(now, wall)
	} else {
		s.own.Bump(now)
	}
	next := s.own.Next()
	if s.haveSend {
		next = min(next, s.beatAt)
	}
	return next
}

// queueControl adds the control messages queued since the last step.
func (s *Sender) queueControl() {
	if s.send.Count < s.ctlSeen {
		// Only a new table starts the count again, and a new table means a
		// new sender; be safe anyway.
		s.log.Warn().Uint64("count", s.send.Count).Uint64("seen", s.ctlSeen).Msg("control queue count went back; following it")
		s.ctlSeen = s.send.Count
		return
	}
	msgs, lost := s.send.Since(s.ctlSeen)
	if lost > 0 {
		s.log.Warn().Uint64("lost", lost).Msg("control messages overwritten before they were sent")
	}
	for _, c := range msgs {
		s.frames = append(s.frames, wire.Frame{Kind: c.Kind, Flags: s.send.Flags | c.Flags, ReqID: c.ReqID})
	}
	s.ctlSeen = s.send.Count
}

// checkBrain decides whether had2 is alive enough for heartbeats.
func (s *Sender) checkBrain(now int64) {
	if s.o.BrainGrace <= 0 {
		return
	}
	r, err := s.t.Read(shm.SlotHad2)
	if (err == nil || !errors.Is(err, shm.ErrTorn)) && r.Type == shm.TypeDaemon && r.Stamp > s.had2Stamp {
		s.had2Stamp = r.Stamp
	}
	ref := s.had2Stamp
	if ref == 0 {
		ref = s.start // had2 has not written yet: it gets the grace from our start
	}
	silent := time.Duration(now - ref)
	switch gone := silent > s.o.BrainGrace; {
	case gone && !s.brainless:
		s.brainless = true
		s.own.Rec.Value, s.own.Rec.Text = shm.Warning, "heartbeats paused: had2 silent"
		s.own.Write(now) // the operator sees why at once, not at the next bump
		s.log.Error().Dur("silent", silent).Msg("had2 silent longer than the brain grace, heartbeats stopped")
	case !gone && s.brainless:
		s.brainless = false
		s.beatAt = now // the peer may be about to give up on us
		s.own.Rec.Value, s.own.Rec.Text = shm.OK, ""
		s.own.Write(now)
		s.log.Info().Msg("had2 back, heartbeats resumed")
	}
}

// transmit numbers s.frames, persists the last number, then sends each
// frame on every path.
func (s *Sender) transmit(now, wall int64) {
	echoTime, echoDelay := s.echo(now)
	first := s.seq + 1
	s.seq += uint64(len(s.frames))
	// Persisted before anything leaves: a sender killed after a send
	// must not reuse the number.
	s.own.Rec.Extra[slots.ExtraSeq], s.own.Rec.Extra[slots.ExtraControlSeen] = s.seq, s.ctlSeen
	s.own.Write(now)
	var sent uint64
	for i := range s.frames {
		f := &s.frames[i]
		f.Cluster, f.Node, f.Epoch, f.Seq, f.Time = s.o.Cluster, s.o.Node, s.epoch, first+uint64(i), wall
		f.State, f.Held = s.send.State, s.send.Held
		f.EchoTime, f.EchoDelay = echoTime, echoDelay
		buf, err := s.o.Codec.Append(s.buf[:0], f)
		if err != nil {
			s.log.Error().Err(err).Str("kind", f.Kind.String()).Msg("frame not sent")
			continue
		}
		for p := range s.o.Paths {
			if s.sendOn(p, buf) {
				sent++
			}
		}
		s.log.Debug().Str("kind", f.Kind.String()).Uint64("seq", f.Seq).Str("state", f.State.String()).Msg("frame sent")
	}
	s.own.Rec.Extra[slots.ExtraSent] += sent
}

// sendOn sends one frame on path p, logging a failing path once per
// outage; busy drops (a slow serial line) are only counted.
func (s *Sender) sendOn(p int, frame []byte) bool {
	err := s.o.Paths[p].Link.Send(frame)
	switch {
	case err == nil:
		if s.pathDown[p] {
			s.pathDown[p] = false
			s.log.Info().Str("path", s.o.Paths[p].Name).Msg("sending again")
		}
		return true
	case errors.Is(err, ErrBusy):
		s.log.Debug().Str("path", s.o.Paths[p].Name).Msg("path busy, frame dropped")
	case !s.pathDown[p]:
		s.pathDown[p] = true
		s.log.Warn().Str("path", s.o.Paths[p].Name).Err(err).Msg("send failed")
	}
	return false
}

// echo returns what the frames tell the peer about its own last frame we
// accepted: its send time, and how long ago we heard it, in µs. The peer
// subtracts both from its clock to get the round-trip time.
func (s *Sender) echo(now int64) (int64, uint32) {
	r, err := s.t.Read(shm.SlotPeer)
	if err != nil && !errors.Is(err, shm.ErrStale) || r.Type != shm.TypePeer {
		return 0, 0
	}
	p := slots.ParsePeer(r)
	if p.Accepted == 0 || p.Last.Sent == 0 {
		return 0, 0
	}
	held := max(now-p.Last.Heard, 0) / 1000
	return p.Last.Sent, uint32(min(held, math.MaxUint32))
}

// ownStall records the loop's wake-up at woke for one planned at planned
// (a bell may wake it sooner; only lateness counts): a stall delays the
// heartbeat, which the peer sees as a late one, so it is counted in the
// slot and logged, for the operator to tell a busy sender from a lossy
// network.
func (s *Sender) ownStall(planned, woke int64) {
	lag := s.stalls.woke(planned, woke)
	if lag == 0 {
		return
	}
	s.own.Rec.Extra[slots.ExtraStalls] = s.stalls.count
	s.own.Rec.Extra[slots.ExtraMaxStall] = uint64(s.stalls.longest)
	if ok, n := s.stalls.shouldLog(woke); ok {
		s.log.Warn().Dur("lag", time.Duration(lag)).Uint64("stalls", n).Uint64("total", s.stalls.count).
			Msg("sender not run on time: heartbeats went out late")
	}
}
