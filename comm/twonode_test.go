package comm

import (
	"testing"
	"time"

	"github.com/hadcluster/had/comm/commtest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

var _ Link = (*commtest.End)(nil)

// Node 1's sender and node 2's receiver, each with its own table, over
// two in-memory paths with loss, cuts and a sender restart.
func TestSenderToReceiver(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	net := commtest.New(seed)
	t1, t2 := newTable(t), newTable(t)
	udp, ser := net.Path("udp0"), net.Path("serial0")
	udp.A.SetLoss(0.2)
	ser.A.SetDelay(2 * time.Millisecond)

	so := senderOptions(t, t1, []Path{{"udp0", udp.A}, {"serial0", ser.A}})
	so.Interval, so.Liveness = 5*time.Millisecond, 20*time.Millisecond
	so.BrainGrace = 0 // no had2 here; a slow run must not stop the heartbeats
	ro := receiverOptions(t, t2, []Path{{"udp0", udp.B}, {"serial0", ser.B}})
	ro.Peer, ro.Warntime, ro.Deadtime, ro.Liveness = 1, 30*time.Millisecond, 60*time.Millisecond, 20*time.Millisecond

	send := slots.Send{State: wire.StateNormal, Held: wire.GroupOf(1)}
	writeSend(t1, send)
	stopSender := runSender(t, newTestSender(t, so))
	r, err := NewReceiver(ro)
	if err != nil {
		t.Fatal(err)
	}
	runReceiver(t, r)

	const wait = 10 * time.Second
	waitFor(t, wait, "the peer's state on node 2", func() bool {
		p := readPeer(t2)
		return p.Accepted >= 5 && p.Last.State == wire.StateNormal && p.Last.Held == wire.GroupOf(1) &&
			readPath(t2, 0).Up && readPath(t2, 1).Up
	})

	// A control message lost on UDP whose serial copy arrives after a newer
	// heartbeat is dropped (frames are accepted in order only), so had2
	// repeats control messages until they are acked; so does this test.
	lastPush := time.Time{}
	waitFor(t, wait, "the control message in node 2's ring", func() bool {
		if time.Since(lastPush) > 20*time.Millisecond {
			send.Push(slots.Control{Kind: wire.TakeRequest, ReqID: 77})
			writeSend(t1, send)
			lastPush = time.Now()
		}
		r, _ := t2.Read(slots.MessageSlot(1))
		n, f := slots.ParseMessage(r)
		return readPeer(t2).Messages >= 1 && n == 1 && f.Kind == wire.TakeRequest && f.ReqID == 77
	})

	// One path cut: a warning on that path, the peer still fine.
	udp.Cut()
	waitFor(t, wait, "udp0 down", func() bool { return !readPath(t2, 0).Up })
	if p := readPeer(t2); p.Overtime {
		t.Fatalf("seed %d: OVERTIME with the serial path still up", seed)
	}
	// Both cut: OVERTIME; healed: cleared.
	ser.Cut()
	waitFor(t, wait, "OVERTIME", func() bool { return readPeer(t2).Overtime })
	udp.Heal()
	ser.Heal()
	waitFor(t, wait, "OVERTIME cleared", func() bool { return !readPeer(t2).Overtime })

	// A restarted sender carries on: its frames are not replays.
	stopSender()
	before := readPeer(t2).Accepted
	udp2, ser2 := net.Path("udp0"), net.Path("serial0")
	so.Paths = []Path{{"udp0", udp2.A}, {"serial0", ser2.A}}
	// The first sender closed its ends; the new one gets new paths, whose
	// frames are handed on to the receiver's ends.
	forward := func(from, to *commtest.End) {
		go func() {
			for {
				b, err := from.Recv()
				if err != nil {
					return
				}
				to.Inject(b)
			}
		}()
	}
	forward(udp2.B, udp.B)
	forward(ser2.B, ser.B)
	t.Cleanup(func() { udp2.B.Close(); ser2.B.Close() })
	runSender(t, newTestSender(t, so))
	waitFor(t, wait, "frames from the restarted sender", func() bool { return readPeer(t2).Accepted > before+5 })
	r.mu.Lock()
	replays := r.own.Rec.Extra[slots.ExtraDropReplay]
	r.mu.Unlock()
	if replays != 0 {
		t.Errorf("seed %d: %d frames dropped as replays", seed, replays)
	}
	if d := readDaemon(t, t2, shm.SlotReceiver); d.Phase != slots.PhaseRunning {
		t.Errorf("receiver phase: got %d, want running", d.Phase)
	}
}
