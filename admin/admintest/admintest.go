// Package admintest runs an admin server against a real record table in a
// test's temporary directory, with had2 played by a goroutine that answers
// the operator's requests and writes events, as the tests of package admin
// and of hactl need it.
package admintest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/admin"
	"github.com/hadcluster/had/agents"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/node"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// Token is the token of nodes made with Remote.
const Token = "admintest-token-0123456789"

// NodeOptions shape a test node.
type NodeOptions struct {
	ID     uint8  // 1 (alpha, owns the group) or 2 (beta); default 1
	Remote bool   // listen on 127.0.0.1:0 with the token, /metrics on
	Peer   string // the peer admin server's host:port (needs Remote)
	Group  string // [admin] group; default a group that does not exist
	Extra  string // more [admin] lines
	Alerts string // the [alerts] table's body
}

// Node writes a node's configuration, key file, token and table into a
// new temporary directory, loads it, and creates its record table.
func Node(t testing.TB, o NodeOptions) (*node.Node, *shm.Table) {
	t.Helper()
	if o.ID == 0 {
		o.ID = 1
	}
	dir := t.TempDir()
	names := map[uint8]string{1: "alpha", 2: "beta"}
	write := func(name, text string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("authkeys", "active 1\nkey 1 admintest-secret-0123456789\n", 0o600)
	tok := write("token", Token+"\n", 0o600)
	table := write("group.table", "vip 10.213.0.100/32 dev=eth0\ncmd name=web start=true stop=true status=true\n", 0o644)
	tableKey := "recover_table"
	if o.ID == 2 {
		tableKey = "takeover_table"
	}
	if o.Group == "" {
		o.Group = fmt.Sprintf("no-such-group-%d", os.Getpid())
	}
	cfg := fmt.Sprintf(`cluster_id = 42
node_id = %d
node_name = %q
peer_name = %q
mode = "asymmetric"
primary = 1
key_file = "authkeys"
%s = %q
shm_path = %q
state_dir = %q

[[udp]]
name = "lan"
local = "127.0.0.1:%d"
peer = "127.0.0.1:%d"

[[serial]]
name = "rs232"
device = "/dev/null"

[admin]
socket = %q
group = %q
%s
`, o.ID, names[o.ID], names[3-o.ID], tableKey, table, filepath.Join(dir, "had.shm"), filepath.Join(dir, "state"),
		16940+int(o.ID), 16943-int(o.ID), filepath.Join(dir, "run", "admin.sock"), o.Group, o.Extra)
	if o.Remote {
		cfg += fmt.Sprintf("listen = \"127.0.0.1:0\"\ntoken_file = %q\nmetrics = true\n", tok)
	}
	if o.Peer != "" {
		cfg += fmt.Sprintf("peer = %q\n", o.Peer)
	}
	if o.Alerts != "" {
		cfg += "\n[alerts]\n" + o.Alerts + "\n"
	}
	n, err := node.Load(write("had.toml", cfg, 0o644))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := shm.Create(n.Config.ShmPath, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	return n, tbl
}

// Server is a running admin server.
type Server struct {
	*admin.Server
	Node   *node.Node
	Table  *shm.Table
	Socket string
	cancel context.CancelFunc
	done   chan error
}

// Start runs an admin server for n on tbl until the test ends (or Stop).
func Start(t testing.TB, n *node.Node, tbl *shm.Table, alerter admin.Alerter) *Server {
	t.Helper()
	srv, err := admin.New(admin.Options{Node: n, Table: tbl, Log: Log(t), Alerter: alerter})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Server: srv, Node: n, Table: tbl, Socket: n.Config.Admin.Socket, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Run(ctx) }()
	t.Cleanup(func() { s.Stop(t) })
	select {
	case <-srv.Ready():
	case err := <-s.done:
		s.done <- err
		t.Fatalf("admin server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("admin server not ready after 10s")
	}
	return s
}

// Stop stops the server and waits for it (more than once is fine).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok && err != nil {
			t.Errorf("admin server: %v", err)
		}
		if ok {
			close(s.done)
		}
	case <-time.After(10 * time.Second):
		t.Error("admin server did not stop within 10s")
	}
}

// TCP is the server's TCP address (host:port).
func (s *Server) TCP() string {
	_, a := s.Addrs()
	if a == nil {
		return ""
	}
	return a.String()
}

// Log is a test logger at Info.
func Log(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// Had2 plays had2 for the admin server: it owns had2's slot and SlotSend,
// answers requests, and writes events.
type Had2 struct {
	t      *shm.Table
	mu     sync.Mutex
	rec    slots.Daemon
	send   slots.Send
	seen   uint64
	refuse bool
	silent bool
	cmds   []fsm.AdminCmd
}

// StartHad2 starts answering tbl's requests until the test ends. It sets
// the node in state N holding held.
func StartHad2(t testing.TB, tbl *shm.Table, held wire.Groups) *Had2 {
	h := &Had2{t: tbl, rec: slots.Daemon{Value: shm.OK, Interval: int64(time.Hour), Phase: slots.PhaseRunning}}
	h.SetState(wire.StateNormal, held)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			bell := tbl.BellValue(shm.BellHad2)
			h.answer()
			tbl.Wait(shm.BellHad2, bell, 50*time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// SetState publishes the node's state and held groups (SlotSend).
func (h *Had2) SetState(s wire.State, held wire.Groups) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.send.State, h.send.Held = s, held
	h.t.Write(shm.SlotSend, h.send.Record())
}

// Refuse makes had2 answer "no"; Silent makes it not answer at all.
func (h *Had2) Refuse(b bool) { h.mu.Lock(); h.refuse = b; h.mu.Unlock() }

// Silent makes had2 ignore requests.
func (h *Had2) Silent(b bool) { h.mu.Lock(); h.silent = b; h.mu.Unlock() }

// Commands are the requests answered so far.
func (h *Had2) Commands() []fsm.AdminCmd {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fsm.AdminCmd(nil), h.cmds...)
}

func (h *Had2) answer() {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, err := h.t.Read(shm.SlotAdmin)
	if err != nil || r.Type != shm.TypeAdmin || h.silent {
		return
	}
	a := slots.ParseAdmin(r)
	if a.ID <= h.seen {
		return
	}
	h.seen = a.ID
	cmd := fsm.AdminCmd(a.Cmd)
	h.cmds = append(h.cmds, cmd)
	h.rec.Extra[slots.ExtraReplyID], h.rec.Extra[slots.ExtraReplyOK] = a.ID, 1
	h.rec.Text = fmt.Sprintf("%v done", cmd)
	if h.refuse {
		h.rec.Extra[slots.ExtraReplyOK], h.rec.Text = 0, fmt.Sprintf("%v refused: the peer is silent", cmd)
	}
	h.event(slots.Event{Kind: slots.EventAdmin, Level: shm.Information, Text: fmt.Sprintf("admin request #%d: %s", a.ID, h.rec.Text)})
}

// Event appends e to the events ring as had2 does (numbered, stamped now
// unless set) and rings the admin server's bell.
func (h *Had2) Event(e slots.Event) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.event(e)
}

func (h *Had2) event(e slots.Event) uint64 {
	n := h.rec.Extra[slots.ExtraEvents] + 1
	e.N = n
	if e.Time == 0 {
		e.Time = time.Now().UnixNano()
	}
	h.t.Write(slots.EventSlot(n), e.Record())
	h.rec.Extra[slots.ExtraEvents] = n
	h.rec.Counter++
	h.t.Write(shm.SlotHad2, h.rec.Record())
	h.t.Ring(shm.BellAdmin)
	return n
}

// Fill writes the slots had1, the receiver and the agents would: live
// daemons, a path each for lan and rs232 (rs232 losing 3 %), a heard
// peer in N, and a stats agent and a web agent.
func Fill(tbl *shm.Table, restartsHad2 uint64) {
	d := slots.Daemon{Value: shm.OK, Interval: int64(time.Hour), Phase: slots.PhaseRunning}
	had1 := d
	had1.Extra[slots.ExtraRestartsHad2] = restartsHad2
	tbl.Write(shm.SlotHad1, had1.Record())
	tbl.Write(shm.SlotSender, d.Record())
	recv := d
	recv.Extra[slots.ExtraDropMAC] = 2
	tbl.Write(shm.SlotReceiver, recv.Record())
	now := shm.Now()
	tbl.Write(shm.SlotPath0, slots.Path{Name: "lan", Up: true, LastHeard: now, Heard: 100, Late: 1, RTT: 310e3, Lost: 4}.Record())
	tbl.Write(shm.SlotPath0+1, slots.Path{Name: "rs232", Up: true, LastHeard: now, Heard: 97, RTT: 1200e3, LossPermille: 30, Lost: 3}.Record())
	tbl.Write(shm.SlotPeer, slots.Peer{Accepted: 100, Last: slots.Frame{State: wire.StateNormal, Epoch: 9, Heard: now}}.Record())
	for i, a := range []struct {
		name string
		res  slots.AgentResult
	}{
		{"stats", slots.AgentResult{Value: shm.OK, Interval: int64(time.Hour), Text: "cpu 12%",
			Metrics: agents.Stats{CPUPercent: 12.5, MemPercent: 40, Load1: 0.5}.Metrics()}},
		{"web", slots.AgentResult{Value: shm.Warning, Interval: int64(time.Hour), Text: "HTTP slow"}},
	} {
		id, res := slots.AgentSlots(i)
		tbl.Write(id, slots.AgentID{PID: 100 + int32(i), Name: a.name}.Record())
		tbl.Write(res, a.res.Record())
	}
}
