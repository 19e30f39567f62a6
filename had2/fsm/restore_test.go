package fsm

import (
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

func kinds(effs []Effect) (out []string) {
	for _, e := range effs {
		if e.Kind != EffAlert && e.Kind != EffTransition {
			out = append(out, e.String())
		}
	}
	return out
}

// had2 dies while a table start runs; the restored machine is asked to give
// the group back before it ran the table again. The group may be half up,
// so the ack must wait for its stop. (Seed 6647 of the random schedules
// found the ack going out at once.)
func TestRestoredStartCountsAsHeld(t *testing.T) {
	ms := time.Millisecond
	cfg := Config{Me: 1, Peer: 2, OwnGroup: true, PeerGroup: true, Preferred: 1, AutoFailback: true,
		Initdead: time.Second, AckTimeout: 50 * ms, Retransmit: 20 * ms, GiveUpWait: time.Second, RetryAfter: time.Second}
	m := New(cfg, 0)
	m.Step(1*ms, Heard{Msg: Message{Kind: wire.OK, State: wire.StateNormal, Held: g2, Epoch: 1, Seq: 1}})
	m.Step(2*ms, Heard{Msg: Message{Kind: wire.RecoverAck, ReqID: 1, State: wire.StateNormal, Held: g2, Epoch: 1, Seq: 2}})
	m.Step(3*ms, TableDone{Group: g1, Start: true, OK: true})
	m.Step(10*ms, PeerSilent{})
	got := kinds(m.Step(11*ms, Heard{Msg: Message{Kind: wire.TakeAck, ReqID: 2, State: wire.StateDown, Epoch: 1, Seq: 3}}))
	if len(got) != 1 || got[0] != "start g2" {
		t.Fatalf("after TAKEACK: effects %v, want [start g2]", got)
	}

	m, err := Restore(cfg, m.Snapshot(), 12*ms) // had2 killed with the start running
	if err != nil {
		t.Fatal(err)
	}
	if !m.Held().Has(g2) {
		t.Fatalf("restored machine holds %v, want g2 counted as held", m.Held())
	}
	got = kinds(m.Step(13*ms, Heard{Msg: Message{Kind: wire.Recover, ReqID: 3, State: wire.StateRecover, Epoch: 1, Seq: 4}}))
	if len(got) != 1 || got[0] != "stop g2" {
		t.Fatalf("RECOVER after the restart: effects %v, want [stop g2] and no ack yet", got)
	}
	// Then the ack, and the held own group is started again (what its
	// table keeps running in the background died with the old had2).
	got = kinds(m.Step(14*ms, TableDone{Group: g2, Start: false, OK: true}))
	if len(got) != 2 || got[0] != "send RECOVERACK#3" || got[1] != "start g1" {
		t.Fatalf("after the stop: effects %v, want [send RECOVERACK#3 start g1]", got)
	}
}
