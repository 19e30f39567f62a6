package fsm

import (
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

// At boot the service agent reports ERROR (the service is not started
// yet); once the node's own group has started, that old verdict must not
// hand the group away.
func TestServiceErrorBeforeStartIgnored(t *testing.T) {
	ms := time.Millisecond
	cfg := Config{Me: 1, Peer: 2, OwnGroup: true, Preferred: 1, AutoFailback: true,
		Initdead: time.Second, AckTimeout: 50 * ms, Retransmit: 20 * ms, GiveUpWait: time.Second, RetryAfter: time.Second}
	m := New(cfg, 0)
	m.Step(1*ms, Health{OK: true, ServiceFailed: true}) // the agent, before the service runs
	m.Step(2*ms, Heard{Msg: Message{Kind: wire.OK, State: wire.StateNormal, Epoch: 1, Seq: 1}})
	m.Step(3*ms, Heard{Msg: Message{Kind: wire.RecoverAck, ReqID: 1, State: wire.StateNormal, Epoch: 1, Seq: 2}})
	for _, e := range m.Step(4*ms, TableDone{Group: g1, Start: true, OK: true}) {
		if e.Kind == EffSend && e.Msg == wire.Takeover {
			t.Fatalf("handed the group over on a verdict from before the start: %v", e)
		}
	}
	if m.State() != wire.StateNormal {
		t.Fatalf("state %v after the start, want N", m.State())
	}
	// A fresh ERROR after the start does hand it over.
	m.Step(5*ms, Health{OK: true, ServiceFailed: true})
	if m.Held() == 0 || m.phase != phStandby {
		// giveUp leaves the group stopping (held) and the phase standby
		t.Fatalf("after a fresh service ERROR: phase %v held %v, want standby while releasing", m.phase, m.Held())
	}
}
