package comm

import (
	"bytes"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/commtest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func benchRig(b *testing.B) *rxRig {
	tbl := newTable(b)
	paths, _ := pathPair(commtest.New(1), 2)
	o := receiverOptions(b, tbl, paths)
	o.Log = zerolog.Nop()
	return newRxRigOn(b, tbl, o)
}

// One new heartbeat: decode, HMAC, replay check, path and peer slots, bell.
func BenchmarkReceiverAccept(b *testing.B) {
	g := benchRig(b)
	frame := g.frame(wire.Frame{Seq: 1})
	now, wall := shm.Now(), time.Now().UnixNano()
	b.ReportAllocs()
	for b.Loop() {
		g.r.replay = wire.Replay{} // the same bytes are new again
		g.r.handle(0, frame, now, wall)
	}
}

// One new control message: as Accept, plus the ring slot.
func BenchmarkReceiverAcceptControl(b *testing.B) {
	g := benchRig(b)
	frame := g.frame(wire.Frame{Seq: 1, Kind: wire.TakeRequest})
	now, wall := shm.Now(), time.Now().UnixNano()
	b.ReportAllocs()
	for b.Loop() {
		g.r.replay = wire.Replay{}
		g.r.handle(0, frame, now, wall)
	}
}

// The slower path's copy of a frame already accepted.
func BenchmarkReceiverCopy(b *testing.B) {
	g := benchRig(b)
	frame := g.frame(wire.Frame{Seq: 1})
	now, wall := shm.Now(), time.Now().UnixNano()
	g.r.handle(0, frame, now, wall)
	b.ReportAllocs()
	for b.Loop() {
		g.r.recent[1].paths = pathBit(0)
		g.r.handle(1, frame, now, wall)
	}
}

func BenchmarkReceiverDrop(b *testing.B) {
	g := benchRig(b)
	forged := bytes.Clone(g.frame(wire.Frame{Seq: 1}))
	forged[40] ^= 1
	for _, bm := range []struct {
		name  string
		frame []byte
	}{
		{"BadMAC", forged},
		{"OtherCluster", g.frame(wire.Frame{Seq: 1, Cluster: testCluster + 1})},
		{"Garbage", bytes.Repeat([]byte{0x55}, 60)},
	} {
		b.Run(bm.name, func(b *testing.B) {
			now, wall := shm.Now(), time.Now().UnixNano()
			b.ReportAllocs()
			for b.Loop() {
				g.r.handle(0, bm.frame, now, wall)
			}
		})
	}
}

type discard struct{}

func (discard) Send([]byte) error     { return nil }
func (discard) Recv() ([]byte, error) { select {} }
func (discard) Close() error          { return nil }

// One heartbeat: read SlotSend, had2's and the peer's slots, persist the
// sequence number, encode and sign, hand to two paths.
func BenchmarkSenderHeartbeat(b *testing.B) {
	tbl := newTable(b)
	o := senderOptions(b, tbl, []Path{{"udp0", discard{}}, {"serial0", discard{}}})
	o.Log = zerolog.Nop()
	o.BrainGrace = 1 << 62 // read had2's slot, but never stop: the clock here is synthetic
	s := newTestSender(b, o)
	writeSend(tbl, slots.Send{State: wire.StateNormal, Held: 1})
	now := shm.Now()
	s.restore(now)
	b.ReportAllocs()
	for b.Loop() {
		now += int64(o.Interval)
		s.step(now, now)
	}
}
