package had2

import (
	"errors"
	"sort"

	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// peerFeed turns the receiver's records into events for the machine: every
// control message from the ring, and the latest frame, in sequence order,
// then OVERTIME if it holds now.
type peerFeed struct {
	ring     uint64 // ring messages consumed
	overtime bool   // OVERTIME already fed
	epoch    uint64 // the newest frame fed
	seq      uint64
}

// reader is the part of shm.Table the feed reads.
type reader interface {
	Read(slot int) (shm.Record, error)
}

// read collects the news since the last call. The receiver writes a ring
// entry before the SlotPeer record that counts it, so reading SlotPeer
// first and the ring second never misses a message.
func (f *peerFeed) read(t reader) []fsm.Event {
	r, err := t.Read(shm.SlotPeer)
	if err != nil && !errors.Is(err, shm.ErrStale) || r.Type != shm.TypePeer {
		return nil // nothing yet, or a torn read: next round
	}
	p := slots.ParsePeer(r)
	from := f.ring + 1
	if p.Messages >= shm.RingSize && p.Messages-shm.RingSize+1 > from {
		from = p.Messages - shm.RingSize + 1 // older ones are overwritten
	}
	var msgs []slots.Frame
	for n := from; n <= p.Messages; n++ {
		r, err := t.Read(slots.MessageSlot(n))
		if err != nil && !errors.Is(err, shm.ErrStale) {
			continue
		}
		if got, m := slots.ParseMessage(r); got == n {
			msgs = append(msgs, m)
		}
	}
	if p.Messages > f.ring {
		f.ring = p.Messages
	}
	return f.events(p, msgs)
}

// events orders the frames and appends OVERTIME. The machine itself drops
// frames older than the newest it has seen.
func (f *peerFeed) events(p slots.Peer, msgs []slots.Frame) []fsm.Event {
	var evs []fsm.Event
	if p.Accepted > 0 {
		last := p.Last
		dup := false
		for _, m := range msgs {
			if m.Epoch == last.Epoch && m.Seq == last.Seq {
				dup = true
			}
		}
		if !dup {
			msgs = append(msgs, last)
		}
	}
	sort.SliceStable(msgs, func(i, j int) bool {
		if msgs[i].Epoch != msgs[j].Epoch {
			return msgs[i].Epoch < msgs[j].Epoch
		}
		return msgs[i].Seq < msgs[j].Seq
	})
	for _, m := range msgs {
		if m.Epoch < f.epoch || m.Epoch == f.epoch && m.Seq <= f.seq {
			continue
		}
		f.epoch, f.seq = m.Epoch, m.Seq
		evs = append(evs, fsm.Heard{Msg: message(m)})
	}
	switch {
	case p.Overtime && (!f.overtime || len(evs) > 0):
		// Frames heard since the last OVERTIME came before this one.
		evs = append(evs, fsm.PeerSilent{})
		f.overtime = true
	case !p.Overtime:
		f.overtime = false
	}
	return evs
}

func message(f slots.Frame) fsm.Message {
	return fsm.Message{Kind: f.Kind, State: f.State, Held: f.Held, Flags: f.Flags, ReqID: f.ReqID, Epoch: f.Epoch, Seq: f.Seq}
}
