package comm

import (
	"errors"
	"time"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// recentWindow is how far behind the newest accepted frame (in sequence
// numbers of one epoch) a frame still counts as a late copy of one sent on
// every path, not as a replay. The sender numbers frames one by one, so
// 64 numbers are seconds of heartbeats, far more than a slow serial line
// lags behind UDP.
const recentWindow = 64

// recentSeq remembers which paths have delivered one recent frame. A copy
// on another path is expected (every frame goes on every path) and marks
// that path alive; a second copy on the same path is a replay.
type recentSeq struct {
	seq   uint64
	paths uint8 // bit i: path i delivered it
}

func pathBit(i int) uint8 { return 1 << (uint(i) % 8) }

// Drop reasons: indexes of dropReasons.
const (
	dropCluster = iota
	dropMAC
	dropReplay
	dropShort
	dropInvalid
)

// dropReasons are the receiver's drop counters, in its slot's Extra words.
var dropReasons = [...]struct {
	extra int
	what  string
}{
	dropCluster: {slots.ExtraDropCluster, "frame of another cluster"},
	dropMAC:     {slots.ExtraDropMAC, "frame with a bad MAC or unknown key"},
	dropReplay:  {slots.ExtraDropReplay, "replayed frame"},
	dropShort:   {slots.ExtraDropShort, "truncated or oversized frame"},
	dropInvalid: {slots.ExtraDropInvalid, "invalid frame"},
}

// dropReason maps a Decode error to its drop reason.
func dropReason(err error) int {
	switch {
	case errors.Is(err, wire.ErrCluster):
		return dropCluster
	case errors.Is(err, wire.ErrBadMAC), errors.Is(err, wire.ErrUnknownKey):
		return dropMAC
	case errors.Is(err, wire.ErrShort), errors.Is(err, wire.ErrOversize):
		return dropShort
	}
	// Bad magic, another protocol version, or fields no valid frame has.
	return dropInvalid
}

// errNotPeer: a frame signed with our key but carrying a node id other
// than the peer's: our own frames looped back (broadcast, a crossed
// cable), or a misconfigured node id.
var errNotPeer = errors.New("comm: frame from a node other than the peer")

// dropWarnEvery spaces the warnings about dropped frames: the first drop
// of a kind is worth a line (a wrong key or cluster id is a configuration
// error that silences the peer), a flood of them is not.
const dropWarnEvery = int64(time.Minute)

// handle processes one datagram or serial payload from path i, received
// at now (shm.Now clock) and wall (unix ns).
func (r *Receiver) handle(i int, b []byte, now, wall int64) {
	f, err := r.o.Codec.Decode(b, r.o.Cluster)
	if err != nil {
		r.drop(i, dropReason(err), now, err)
		return
	}
	if f.Node != r.o.Peer {
		r.drop(i, dropInvalid, now, errNotPeer)
		return
	}
	if r.replay.Check(&f) != nil {
		if !r.lateCopy(i, &f) {
			r.drop(i, dropReplay, now, wire.ErrReplay)
			return
		}
		// The same frame, already accepted from a faster path: this path
		// works, but the frame is not news.
		r.heard(i, &f, now, wall)
		return
	}
	if f.Epoch != r.replay.Epoch {
		if r.replay.Epoch != 0 {
			r.log.Info().Uint64("epoch", f.Epoch).Uint64("was", r.replay.Epoch).Msg("peer restarted with a new epoch")
		}
		r.recent = [recentWindow]recentSeq{}
		r.loss.reset()
	}
	r.replay.Accept(&f)
	r.recent[f.Seq%recentWindow] = recentSeq{seq: f.Seq, paths: pathBit(i)}
	r.heard(i, &f, now, wall)
	r.accept(i, &f, now)
}

// lateCopy reports whether f, which the replay window refused, is a copy
// of a recent frame not yet seen on path i.
//
// A replay of such a frame (an attacker on the LAN who captured the peer's
// frames while this end of the path was deaf) is indistinguishable from a
// slow copy, and is credited the same way, on purpose: refusing it would
// also refuse the serial line's genuine late copies and show a working path
// as lost. What the credit can buy is bounded: it needs a frame with the
// key's MAC of the peer's current epoch, at most recentWindow behind the
// newest accepted one; each such frame counts once per path (the second
// copy is a replay); and it only marks path i heard (its slot, the console,
// the path up/down alert). It is never news: SlotPeer, the message ring
// and the peer's silence clock are untouched, so it can neither reach
// had2's state machine nor hold off OVERTIME (TestReceiverReplayedLateCopyCreditsOnce,
// FuzzReceiver).
func (r *Receiver) lateCopy(i int, f *wire.Frame) bool {
	if f.Epoch != r.replay.Epoch || r.replay.Seq-f.Seq >= recentWindow {
		return false
	}
	e := &r.recent[f.Seq%recentWindow]
	if e.seq != f.Seq {
		// Lost on the faster paths, or sent before this receiver started:
		// still the peer's frame of a moment ago on this path.
		*e = recentSeq{seq: f.Seq}
	}
	if e.paths&pathBit(i) != 0 {
		return false
	}
	e.paths |= pathBit(i)
	return true
}

// heard marks path i alive with an authentic frame.
func (r *Receiver) heard(i int, f *wire.Frame, now, wall int64) {
	p := &r.paths[i]
	if p.seen && p.rec.Up {
		gap := now - p.quiet.last
		p.rec.LastGap, p.rec.MaxGap = gap, max(p.rec.MaxGap, gap)
		if gap > int64(r.o.Warntime) {
			p.rec.Late++
		}
	}
	p.quiet.heard(now)
	p.seen = true
	p.rec.LastHeard = now
	p.rec.Heard++
	r.loss.deliver(i, f.Seq)
	p.rec.Lost = p.lostBase + r.loss.paths[i].lost
	p.rec.LossPermille = r.loss.permille(i, false)
	if f.EchoTime != 0 {
		// The peer echoes the send time of our last frame it accepted and
		// how long it held it: both on clocks that cancel out, so the
		// difference is the round trip on our own wall clock. A step of
		// that clock in between gives nonsense: an echo from the future, or
		// one older than the dead time (a peer that slow would be dead),
		// reads as zero, "not known".
		rtt := wall - f.EchoTime - int64(f.EchoDelay)*1000
		if rtt < 0 || rtt > int64(r.o.Deadtime) {
			rtt = 0
		}
		p.rec.RTT = rtt
	}
	if !p.rec.Up {
		p.rec.Up, p.rec.UpSince = true, now
		r.log.Info().Str("path", p.rec.Name).Msg("heartbeat path up")
	}
	p.dirty = false
	r.t.Write(shm.SlotPath0+i, p.rec.Record())
}

// accept records a new frame from the peer for had2: a control message
// first in the ring, then SlotPeer counting it (had2 reads SlotPeer, then
// the ring, so it never looks for a message not yet written), then the
// bell.
func (r *Receiver) accept(i int, f *wire.Frame, now int64) {
	gap := time.Duration(now - r.peerQuiet.last)
	prev := r.peer.Last
	wasOvertime, hadFrame := r.peer.Overtime, r.heardSince
	r.peerQuiet.heard(now)
	r.heardSince, r.deferred = true, false

	r.peer.Last = slots.Frame{Kind: f.Kind, State: f.State, Held: f.Held, Flags: f.Flags, Path: uint8(i),
		ReqID: f.ReqID, Epoch: f.Epoch, Seq: f.Seq, Heard: now, Sent: f.Time}
	r.peer.Accepted++
	r.own.Rec.Extra[slots.ExtraAccepted]++
	if f.Kind.IsControl() {
		n := r.peer.Messages + 1
		r.t.Write(slots.MessageSlot(n), slots.Message(n, r.peer.Last))
		r.peer.Messages = n
	}
	r.peer.Overtime = false
	r.t.Write(shm.SlotPeer, r.peer.Record())
	// had2 reads SlotPeer whenever it wakes; it is woken only for news. A
	// wake-up costs ~0.1 ms of CPU here, and plain heartbeats are 20 a second.
	news := f.Kind.IsControl() || wasOvertime || !hadFrame ||
		f.State != prev.State || f.Held != prev.Held || f.Flags != prev.Flags || f.Epoch != prev.Epoch
	if news {
		r.t.Ring(shm.BellHad2)
	}

	path := r.o.Paths[i].Name
	switch {
	case wasOvertime:
		r.log.Info().Str("path", path).Dur("silent", gap).Msg("peer heard again, OVERTIME cleared")
	case hadFrame && gap > r.o.Warntime:
		r.log.Warn().Str("path", path).Dur("gap", gap).Dur("warntime", r.o.Warntime).Msg("late heartbeat")
	}
	if f.State != prev.State || f.Held != prev.Held || f.Flags != prev.Flags {
		r.log.Info().Str("state", f.State.String()).Str("held", f.Held.String()).Uint8("flags", uint8(f.Flags)).
			Msg("peer state changed")
	}
	if f.Kind.IsControl() {
		r.log.Info().Str("kind", f.Kind.String()).Uint32("req", f.ReqID).Str("path", path).
			Uint64("n", r.peer.Messages).Msg("control message received")
	}
	r.log.Debug().Str("kind", f.Kind.String()).Uint64("seq", f.Seq).Str("path", path).Msg("frame accepted")
}

// drop counts a frame dropped on path i for reason.
func (r *Receiver) drop(i, reason int, now int64, err error) {
	r.own.Rec.Extra[dropReasons[reason].extra]++
	p := &r.paths[i]
	p.rec.Dropped++
	p.dirty = true
	if r.warned[reason] == 0 || now-r.warned[reason] >= dropWarnEvery {
		r.warned[reason] = now
		r.log.Warn().Str("path", p.rec.Name).Err(err).Uint64("total", r.own.Rec.Extra[dropReasons[reason].extra]).
			Msg("dropped " + dropReasons[reason].what)
		return
	}
	r.log.Debug().Str("path", p.rec.Name).Err(err).Msg("frame dropped")
}

// tick runs the timers at now: links' own drop counts, paths going down,
// OVERTIME, the liveness bump. It returns when it is due next.
func (r *Receiver) tick(now int64) int64 {
	dead := int64(r.o.Deadtime)
	next := int64(0)
	due := func(t int64) {
		if next == 0 || t < next {
			next = t
		}
	}
	for i := range r.paths {
		p := &r.paths[i]
		r.linkDrops(i)
		if p.rec.Up && p.quiet.over(now, dead) {
			p.rec.Up = false
			p.rec.Downs++
			p.dirty = true
			r.log.Warn().Str("path", p.rec.Name).Dur("silent", time.Duration(now-p.quiet.last)).Msg("heartbeat path down")
		}
		// Frames go on arriving on other paths while this one is silent:
		// its loss grows without a frame of its own to update it.
		if loss := r.loss.permille(i, !p.rec.Up); loss != p.rec.LossPermille {
			p.rec.LossPermille, p.dirty = loss, true
		}
		if p.dirty {
			p.dirty = false
			r.t.Write(shm.SlotPath0+i, p.rec.Record())
		}
		if p.rec.Up {
			due(p.quiet.deadline(dead))
		}
	}
	// OVERTIME means a peer that was heard has gone silent. One never heard
	// (both nodes booting) is had2's initdead to judge, not a failure.
	if !r.peer.Overtime && r.peer.Accepted > 0 {
		if quiet := now - r.peerQuiet.last; quiet >= dead && !r.peerQuiet.over(now, dead) && !r.deferred {
			r.deferred = true
			r.log.Warn().Dur("silent", time.Duration(quiet)).Dur("own_stall", time.Duration(r.peerQuiet.credit)).
				Msg("peer silent for the dead time, but the receiver itself was not run for part of it: not OVERTIME yet")
		}
		if r.peerQuiet.over(now, dead) {
			r.peer.Overtime = true
			r.t.Write(shm.SlotPeer, r.peer.Record())
			r.t.Ring(shm.BellHad2)
			r.log.Warn().Dur("silent", time.Duration(now-r.peerQuiet.last)).Dur("own_stall", time.Duration(r.peerQuiet.credit)).
				Msg("peer silent on every path: OVERTIME")
		} else {
			due(r.peerQuiet.deadline(dead))
		}
	}
	r.own.Bump(now)
	due(r.own.Next())
	return next
}

// linkDrops adds what path i's link discarded by itself since last time:
// serial noise (bytes) to the serial drop counter, foreign datagrams to the
// path's count of dropped frames.
func (r *Receiver) linkDrops(i int) {
	d, ok := r.o.Paths[i].Link.(dropper)
	if !ok {
		return
	}
	p := &r.paths[i]
	cur := d.Dropped()
	noise, foreign := cur.Noise-p.drops.Noise, cur.Foreign-p.drops.Foreign
	if noise == 0 && foreign == 0 {
		return
	}
	p.drops = cur
	r.own.Rec.Extra[slots.ExtraDropSerial] += noise
	p.rec.Dropped += foreign
	p.dirty = true
	if foreign > 0 && p.drops.Foreign == foreign {
		r.log.Warn().Str("path", p.rec.Name).Msg("dropped datagrams from an address other than the peer's")
	}
}

// ownStall records the timer loop's wake-up at woke for one planned at
// planned: a stall is credited to every silence, so the time the receiver
// itself was not run is not counted against the peer, and counted in its
// slot.
func (r *Receiver) ownStall(planned, woke int64) {
	lag := r.stalls.woke(planned, woke)
	if lag == 0 {
		return
	}
	r.peerQuiet.stalled(lag)
	for i := range r.paths {
		r.paths[i].quiet.stalled(lag)
	}
	r.own.Rec.Extra[slots.ExtraStalls] = r.stalls.count
	r.own.Rec.Extra[slots.ExtraMaxStall] = uint64(r.stalls.longest)
	if ok, n := r.stalls.shouldLog(woke); ok {
		r.log.Warn().Dur("lag", time.Duration(lag)).Uint64("stalls", n).Uint64("total", r.stalls.count).
			Msg("receiver not run on time: its own stall is not counted against the peer")
	}
}
