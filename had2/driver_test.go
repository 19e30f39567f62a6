package had2

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// fakeTable records what the driver asks of a table.
type fakeTable struct {
	mu  sync.Mutex
	ops []string
}

func (f *fakeTable) record(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op)
	return nil
}
func (f *fakeTable) Start(context.Context) error      { return f.record("start") }
func (f *fakeTable) Stop(context.Context) error       { return f.record("stop") }
func (f *fakeTable) Reannounce(context.Context) error { return f.record("reannounce") }
func (f *fakeTable) Ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...)
}

// peerSim writes SlotPeer and the ring as the receiver would.
type peerSim struct {
	t        *shm.Table
	p        slots.Peer
	seq      uint64
	messages uint64
}

func (ps *peerSim) frame(kind wire.Kind, state wire.State, held wire.Groups, req uint32) {
	ps.seq++
	f := slots.Frame{Kind: kind, State: state, Held: held, ReqID: req, Epoch: 7, Seq: ps.seq, Heard: shm.Now()}
	if kind != wire.OK {
		ps.messages++
		ps.t.Write(slots.MessageSlot(ps.messages), slots.Message(ps.messages, f))
	}
	ps.p = slots.Peer{Last: f, Messages: ps.messages, Accepted: ps.seq}
	ps.t.Write(shm.SlotPeer, ps.p.Record())
	ps.t.Ring(shm.BellHad2)
}

func (ps *peerSim) overtime() {
	ps.p.Overtime = true
	ps.t.Write(shm.SlotPeer, ps.p.Record())
	ps.t.Ring(shm.BellHad2)
}

func testConfig(node uint8) *config.Config {
	c := &config.Config{ClusterID: 1, NodeID: node, PeerID: 3 - node, Mode: config.Asymmetric, Primary: 1,
		Failback: config.FailbackAuto, Timers: config.DefaultTimers(), Supervise: config.DefaultSupervise()}
	c.Timers.Initdead = time.Minute // the tests bring the peer themselves
	return c
}

// harness runs one driver against a fresh table.
type harness struct {
	t      *testing.T
	table  *shm.Table
	peer   *peerSim
	own    *fakeTable
	other  *fakeTable
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, node uint8) *harness {
	t.Helper()
	return startOn(t, node, newTable(t))
}

// newTable is a fresh table with had1 running.
func newTable(t *testing.T) *shm.Table {
	t.Helper()
	tbl, err := shm.Create(filepath.Join(t.TempDir(), "table"), 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	tbl.Write(shm.SlotHad1, slots.Daemon{Phase: slots.PhaseRunning}.Record())
	return tbl
}

// startOn runs the driver of node on tbl, as a had2 (re)started there.
func startOn(t *testing.T, node uint8, tbl *shm.Table) *harness {
	t.Helper()
	h := &harness{t: t, table: tbl, peer: &peerSim{t: tbl}, own: &fakeTable{}, other: &fakeTable{}, done: make(chan error, 1)}
	cfg := testConfig(node)
	opt := Options{Config: cfg, Table: tbl, Log: zerolog.New(zerolog.NewTestWriter(t))}
	if cfg.OwnGroup() {
		opt.Own = h.own
	}
	if cfg.PeerGroup() {
		opt.Peer = h.other
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- Run(ctx, opt) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("driver did not stop")
		}
	})
	return h
}

func (h *harness) sendSlot() slots.Send {
	r, _ := h.table.Read(shm.SlotSend)
	return slots.ParseSend(r)
}

// waitFor polls cond until it holds or the deadline passes.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; SlotSend %+v", what, h.sendSlot())
		}
		time.Sleep(time.Millisecond)
	}
}

// lastControl returns the newest control message of kind in SlotSend.
func (h *harness) lastControl(kind wire.Kind) (slots.Control, bool) {
	s := h.sendSlot()
	msgs, _ := s.Since(0)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind == kind {
			return msgs[i], true
		}
	}
	return slots.Control{}, false
}

func TestDriverRecoverHandshake(t *testing.T) {
	h := start(t, 1)
	h.peer.frame(wire.OK, wire.StateNormal, 0, 0)
	var req slots.Control
	h.waitFor("RECOVER", func() bool {
		var ok bool
		req, ok = h.lastControl(wire.Recover)
		return ok
	})
	if s := h.sendSlot(); s.State != wire.StateRecover {
		t.Fatalf("state %v while recovering, want R", s.State)
	}
	h.peer.frame(wire.RecoverAck, wire.StateNormal, 0, req.ReqID)
	h.waitFor("state N holding g1", func() bool {
		s := h.sendSlot()
		return s.State == wire.StateNormal && s.Held == wire.GroupOf(1)
	})
	if got := h.own.Ops(); len(got) != 1 || got[0] != "start" {
		t.Fatalf("own table ops %v, want [start]", got)
	}
}

func TestDriverTakeoverOnOvertime(t *testing.T) {
	h := start(t, 2)
	h.peer.frame(wire.OK, wire.StateNormal, wire.GroupOf(1), 0)
	var req slots.Control
	h.waitFor("RECOVER", func() bool {
		var ok bool
		req, ok = h.lastControl(wire.Recover)
		return ok
	})
	h.peer.frame(wire.RecoverAck, wire.StateNormal, wire.GroupOf(1), req.ReqID)
	h.waitFor("state N", func() bool { return h.sendSlot().State == wire.StateNormal })

	h.peer.overtime()
	h.waitFor("TAKEREQUEST", func() bool { _, ok := h.lastControl(wire.TakeRequest); return ok })
	h.waitFor("state T holding g1", func() bool {
		s := h.sendSlot()
		return s.State == wire.StateTakeover && s.Held == wire.GroupOf(1)
	})
	if got := h.other.Ops(); len(got) != 1 || got[0] != "start" {
		t.Fatalf("takeover table ops %v, want [start]", got)
	}
	// The snapshot in the table restores to the same state.
	b, _, ok := slots.ReadSnapshot(h.table)
	if !ok {
		t.Fatal("no snapshot in the table")
	}
	m, err := fsm.Restore(fsm.Config{Me: 2, Peer: 1, PeerGroup: true}, b, 0)
	if err != nil || m.State() != wire.StateTakeover {
		t.Fatalf("restored snapshot: state %v err %v, want T", m.State(), err)
	}
}

func TestDriverAdminStandbyReplies(t *testing.T) {
	h := start(t, 1)
	h.peer.frame(wire.OK, wire.StateNormal, 0, 0)
	var req slots.Control
	h.waitFor("RECOVER", func() bool {
		var ok bool
		req, ok = h.lastControl(wire.Recover)
		return ok
	})
	h.peer.frame(wire.RecoverAck, wire.StateNormal, 0, req.ReqID)
	h.waitFor("state N", func() bool { return h.sendSlot().Held == wire.GroupOf(1) })

	h.table.Write(shm.SlotAdmin, slots.Admin{ID: 5, Cmd: uint8(fsm.AdminStandby)}.Record())
	h.table.Ring(shm.BellHad2)
	h.waitFor("TAKEOVER sent and g1 released", func() bool {
		_, ok := h.lastControl(wire.Takeover)
		return ok && h.sendSlot().Held == 0
	})
	h.waitFor("admin reply", func() bool {
		r, err := h.table.Read(shm.SlotHad2)
		if err != nil && !errors.Is(err, shm.ErrStale) {
			return false
		}
		d := slots.ParseDaemon(r)
		return d.Extra[slots.ExtraReplyID] == 5 && d.Extra[slots.ExtraReplyOK] == 1
	})
}

func TestDriverGracefulShutdown(t *testing.T) {
	h := start(t, 1)
	h.peer.frame(wire.OK, wire.StateNormal, 0, 0)
	var req slots.Control
	h.waitFor("RECOVER", func() bool {
		var ok bool
		req, ok = h.lastControl(wire.Recover)
		return ok
	})
	h.peer.frame(wire.RecoverAck, wire.StateNormal, 0, req.ReqID)
	h.waitFor("holding g1", func() bool { return h.sendSlot().Held == wire.GroupOf(1) })
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a graceful stop", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("driver did not stop")
	}
	h.done <- nil // for the cleanup
	if _, ok := h.lastControl(wire.Takeover); !ok {
		t.Fatal("no TAKEOVER sent on shutdown")
	}
	if got := h.own.Ops(); len(got) != 2 || got[1] != "stop" {
		t.Fatalf("own table ops %v, want [start stop]", got)
	}
}

// TestDriverRestartKeepsAdminReply: a restarted had2 carries its slot over
// (the counter goes on, the last admin reply keeps its ID and text) and
// does not run the admin request it had already consumed again.
func TestDriverRestartKeepsAdminReply(t *testing.T) {
	tbl := newTable(t)
	tbl.Write(shm.SlotAdmin, slots.Admin{ID: 5, Cmd: uint8(fsm.AdminStandby)}.Record())
	before := slots.Daemon{Counter: 41, Text: "standing by"}
	before.Extra[slots.ExtraReplyID], before.Extra[slots.ExtraReplyOK], before.Extra[extraAdminSeen] = 5, 1, 5
	tbl.Write(shm.SlotHad2, before.Record())

	h := startOn(t, 1, tbl)
	h.peer.frame(wire.OK, wire.StateNormal, 0, 0)
	var req slots.Control
	h.waitFor("RECOVER", func() bool {
		var ok bool
		req, ok = h.lastControl(wire.Recover)
		return ok
	})
	h.peer.frame(wire.RecoverAck, wire.StateNormal, 0, req.ReqID)
	h.waitFor("holding g1", func() bool { return h.sendSlot().Held == wire.GroupOf(1) })

	r, err := tbl.Read(shm.SlotHad2)
	if err != nil {
		t.Fatal(err)
	}
	d := slots.ParseDaemon(r)
	if d.Counter <= before.Counter || d.Phase != slots.PhaseRunning || d.Value != shm.OK {
		t.Errorf("had2's slot after the restart: counter %d, phase %v, value %v; want counter > %d, running, OK",
			d.Counter, d.Phase, d.Value, before.Counter)
	}
	if d.Extra[slots.ExtraReplyID] != 5 || d.Extra[slots.ExtraReplyOK] != 1 || d.Text != before.Text {
		t.Errorf("admin reply after the restart: id %d ok %d text %q; want 5, 1, %q",
			d.Extra[slots.ExtraReplyID], d.Extra[slots.ExtraReplyOK], d.Text, before.Text)
	}
	if _, ok := h.lastControl(wire.Takeover); ok {
		t.Error("the consumed standby request ran again: TAKEOVER sent")
	}
}
