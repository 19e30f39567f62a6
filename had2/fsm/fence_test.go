package fsm

import (
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

// backupInN is node 2 of an asymmetric pair with required fencing, booted
// and in N beside node 1 (boot epoch epoch), which holds g1.
func backupInN(t *testing.T, epoch uint64) (*Machine, Config) {
	t.Helper()
	ms := time.Millisecond
	cfg := Config{Me: 2, Peer: 1, PeerGroup: true, Preferred: 1, AutoFailback: true, Fence: true, FenceRequired: true,
		Initdead: time.Second, AckTimeout: 50 * ms, Retransmit: 20 * ms, GiveUpWait: time.Second, RetryAfter: time.Second}
	m := New(cfg, 0)
	m.Step(1*ms, Heard{Msg: Message{Kind: wire.OK, State: wire.StateNormal, Held: g1, Epoch: epoch, Seq: 1}})
	m.Step(2*ms, Heard{Msg: Message{Kind: wire.RecoverAck, ReqID: 1, State: wire.StateNormal, Held: g1, Epoch: epoch, Seq: 2}})
	if m.State() != wire.StateNormal {
		t.Fatalf("B after boot: %v, want N", m.State())
	}
	return m, cfg
}

func hasEffect(effs []Effect, kind EffectKind, msg wire.Kind) bool {
	for _, e := range effs {
		if e.Kind == kind && (kind != EffSend || e.Msg == msg) {
			return true
		}
	}
	return false
}

// The peer reboots while the fence device is at work: it speaks up (its
// RECOVER cancels the takeover) and the fence then powers it off. The
// backup must take the fence's success for the peer's silence and take
// over at once, not a dead time later (found by the fault campaign: node A
// power-cycling repeatedly).
func TestFenceAfterThePeerSpokeUp(t *testing.T) {
	ms := time.Millisecond
	m, cfg := backupInN(t, 1)

	now := time.Second
	if !hasEffect(m.Step(now, PeerSilent{}), EffSend, wire.TakeRequest) {
		t.Fatal("no TAKEREQUEST after OVERTIME")
	}
	now += cfg.AckTimeout + ms
	if !hasEffect(m.Step(now, Tick{}), EffFence, 0) {
		t.Fatal("no fencing after the TAKEACK wait")
	}
	// A, rebooted, asks for its group back while the fence device works.
	now += 10 * ms
	if !hasEffect(m.Step(now, Heard{Msg: Message{Kind: wire.Recover, ReqID: 1, State: wire.StateRecover, Epoch: 2, Seq: 1}}), EffSend, wire.RecoverAck) {
		t.Fatal("the rebooted peer's RECOVER was not acknowledged")
	}
	// The fence powers it off after all.
	now += 10 * ms
	if !hasEffect(m.Step(now, FenceDone{OK: true}), EffSend, wire.TakeRequest) {
		t.Fatal("after the fence succeeded, no new TAKEREQUEST: the backup waits a dead time for nothing")
	}
	now += cfg.AckTimeout + ms
	if !hasEffect(m.Step(now, Tick{}), EffFence, 0) {
		t.Fatal("no fencing of the silent peer")
	}
	now += 10 * ms
	if !hasEffect(m.Step(now, FenceDone{OK: true}), EffStart, 0) {
		t.Fatal("the backup did not take the group over")
	}

	// The fence was late but the peer still talks (a power cycle that
	// reported late): its next frame says it is alive.
	m2, _ := backupInN(t, 1)
	m2.Step(time.Second, PeerSilent{})
	m2.Step(time.Second+60*ms, Tick{})
	m2.Step(time.Second+70*ms, Heard{Msg: Message{Kind: wire.Recover, ReqID: 1, State: wire.StateRecover, Epoch: 2, Seq: 1}})
	m2.Step(time.Second+80*ms, FenceDone{OK: true})
	m2.Step(time.Second+90*ms, Heard{Msg: Message{Kind: wire.OK, State: wire.StateRecover, Epoch: 2, Seq: 2}})
	if !m2.peer.alive {
		t.Error("a frame after the late fence did not bring the peer back")
	}
}

// Frames of a fenced boot of the peer that arrive after the fence (held
// up in a serial line's buffers) are stale: they must not make the taker
// think the peer holds its group again and hand it back (found by the
// fault campaign: the backup released the group to a powered-off peer
// three times in a row). A new boot of the peer is heard as usual.
func TestStaleFramesAfterFence(t *testing.T) {
	ms := time.Millisecond
	m, cfg := backupInN(t, 7)
	now := time.Second
	m.Step(now, PeerSilent{})
	now += cfg.AckTimeout + ms
	m.Step(now, Tick{})
	now += 10 * ms
	m.Step(now, FenceDone{OK: true})
	now += 10 * ms
	m.Step(now, TableDone{Group: g1, Start: true, OK: true})
	if m.Held() != g1 {
		t.Fatalf("after the fence: holding %v, want g1", m.Held())
	}
	// A frame of the fenced boot, newer than any seen, says A holds g1.
	now += 300 * ms
	for _, e := range m.Step(now, Heard{Msg: Message{Kind: wire.OK, State: wire.StateNormal, Held: g1, Epoch: 7, Seq: 40}}) {
		if e.Kind == EffStop {
			t.Fatalf("released g1 on a stale frame of the fenced boot: %v", e)
		}
	}
	if m.peer.alive {
		t.Error("a stale frame of the fenced boot made the peer alive")
	}
	// Restarted had2 keeps knowing.
	r, err := Restore(cfg, m.Snapshot(), now)
	if err != nil {
		t.Fatal(err)
	}
	if r.deadEpoch != 7 {
		t.Errorf("restored dead epoch %d, want 7", r.deadEpoch)
	}
	// A's next boot is heard, and gets its group back.
	now += 500 * ms
	if !hasEffect(r.Step(now, Heard{Msg: Message{Kind: wire.Recover, ReqID: 1, State: wire.StateRecover, Epoch: 8, Seq: 1}}), EffStop, 0) {
		t.Error("the peer's new boot asking for its group back was not heard")
	}
}

// A snapshot of the release before (version 1, 160 bytes) restores.
func TestRestoreVersion1Snapshot(t *testing.T) {
	cfg := Config{Me: 1, Peer: 2, OwnGroup: true, Preferred: 1, AutoFailback: true, Initdead: time.Second,
		AckTimeout: 50 * time.Millisecond, Retransmit: 20 * time.Millisecond, GiveUpWait: time.Second, RetryAfter: time.Second}
	b := New(cfg, 0).Snapshot()[:snapV1Size]
	b[0] = 1
	m, err := Restore(cfg, b, time.Second)
	if err != nil || m.deadEpoch != 0 {
		t.Fatalf("restore of a version 1 snapshot: %v, dead epoch %v", err, m)
	}
}
