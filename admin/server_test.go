package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/admin"
	"github.com/hadcluster/had/admin/admintest"
	"github.com/hadcluster/had/alerts"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStatusOverSocket(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{})
	admintest.Fill(tbl, 3)
	h := admintest.StartHad2(t, tbl, wire.GroupOf(1))
	h.Event(slots.Event{Kind: slots.EventTransition, Level: shm.Information, From: wire.StateDown, To: wire.StateNormal, Text: "booted"})
	h.Event(slots.Event{Kind: slots.EventPath, Level: shm.Warning, Text: "heartbeat path rs232 down"})
	srv := admintest.Start(t, n, tbl, nil)
	c := console.NewUnixClient(srv.Socket)
	defer c.Close()

	resp, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := resp.Local
	if resp.Peer != nil || resp.PeerError != "" {
		t.Errorf("peer: got %v %q, want null and \"\" (no peer configured)", resp.Peer, resp.PeerError)
	}
	if st.Node.Name != "alpha" || st.Node.State != "N" || st.Node.Held != "g1" || st.Pair != "(N,N)" {
		t.Errorf("node %+v pair %s, want alpha in N holding g1, (N,N)", st.Node, st.Pair)
	}
	want := []console.Resource{{Group: "g1", Table: "recover", File: n.Recover.File, Held: true,
		Entries: []console.Entry{{Kind: "vip", Name: "10.213.0.100"}, {Kind: "cmd", Name: "web"}}}}
	if fmt.Sprint(st.Resources) != fmt.Sprint(want) {
		t.Errorf("resources: got %+v, want %+v", st.Resources, want)
	}
	if len(st.Transitions) != 1 || st.Transitions[0].From != "D" || st.Transitions[0].To != "N" || st.Transitions[0].Text != "booted" {
		t.Errorf("transitions: got %+v, want D → N booted", st.Transitions)
	}
	if len(st.Paths) != 2 || st.Paths[1].LossPercent != 3 || st.Paths[0].RTTMs != 0.31 || st.Paths[0].Lost != 4 {
		t.Errorf("paths: got %+v, want lan rtt 0.31 ms, rs232 3%% loss", st.Paths)
	}
	roles := map[string]console.Daemon{}
	for _, d := range st.Daemons {
		roles[d.Role] = d
	}
	if a := roles["admin"]; !a.Alive || a.PID != int32(os.Getpid()) || a.Phase != "running" {
		t.Errorf("admin daemon: got %+v, want alive, this pid, running", a)
	}
	if roles["had2"].Restarts != 3 {
		t.Errorf("had2 restarts: got %d, want 3 (from had1's slot)", roles["had2"].Restarts)
	}
	if st.Perf == nil || st.Perf.CPUPercent != 12.5 || len(st.Agents) != 2 {
		t.Errorf("perf %+v agents %+v, want cpu 12.5 and two agents", st.Perf, st.Agents)
	}

	// Events: all, then after a number.
	ev, err := c.Events(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Newest != 2 || len(ev.Events) != 2 || ev.Events[0].Kind != "transition" || ev.Events[0].From != "D" ||
		ev.Events[1].Level != "WARNING" || ev.Events[1].Kind != "path" {
		t.Errorf("events: got %+v", ev)
	}
	if ev, err := c.Events(context.Background(), 1); err != nil || len(ev.Events) != 1 || ev.Events[0].N != 2 {
		t.Errorf("events after 1: got %+v, %v; want event 2 only", ev, err)
	}
}

// The server remembers more transitions than the events ring holds.
func TestTransitionsOutliveTheRing(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{})
	h := admintest.StartHad2(t, tbl, 0)
	srv := admintest.Start(t, n, tbl, nil)
	h.Event(slots.Event{Kind: slots.EventTransition, Level: shm.Information, From: wire.StateDown, To: wire.StateNormal, Text: "first"})
	waitFor(t, 5*time.Second, "the transition seen", func() bool {
		r, _ := tbl.Read(shm.SlotAdminSrv)
		return slots.ParseDaemon(r).Extra[slots.ExtraAlertSeen] == 1
	})
	for i := 0; i < shm.EventRing; i++ {
		h.Event(slots.Event{Kind: slots.EventAgent, Level: shm.Information, Text: "noise"})
	}
	waitFor(t, 5*time.Second, "the noise seen", func() bool {
		ev, _ := slots.ReadEvents(tbl, 0)
		return len(ev) == shm.EventRing && ev[0].Kind == slots.EventAgent
	})
	if tr := srv.Status().Local.Transitions; len(tr) != 1 || tr[0].Text != "first" {
		t.Errorf("transitions: got %+v, want the first one, gone from the ring", tr)
	}
}

func TestCommands(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{})
	h := admintest.StartHad2(t, tbl, 0)
	srv := admintest.Start(t, n, tbl, nil)
	c := console.NewUnixClient(srv.Socket)
	defer c.Close()
	ctx := context.Background()

	r, err := c.Command(ctx, "takeover", 5*time.Second)
	if err != nil || r != (console.Reply{ID: 1, OK: true, Text: "takeover done"}) {
		t.Fatalf("takeover: got %+v, %v; want #1 ok", r, err)
	}
	h.Refuse(true)
	r, err = c.Command(ctx, "standby", 5*time.Second)
	if err != nil || r.ID != 2 || r.OK || !strings.Contains(r.Text, "refused") {
		t.Fatalf("refused standby: got %+v, %v; want #2, not ok, with the reason", r, err)
	}
	h.Refuse(false)

	// Several at once take turns: each is answered, with its own id.
	var wg sync.WaitGroup
	ids := make(chan uint64, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Command(ctx, []string{"takeover", "standby", "recover"}[i%3], 10*time.Second)
			if err != nil || !r.OK {
				t.Errorf("concurrent request: got %+v, %v", r, err)
			}
			ids <- r.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[uint64]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 6 || len(h.Commands()) != 8 {
		t.Errorf("concurrent requests: got ids %v and %d answered, want 6 distinct and 8 in all", seen, len(h.Commands()))
	}
	if got := h.Commands()[:2]; got[0] != fsm.AdminTakeover || got[1] != fsm.AdminStandby {
		t.Errorf("commands had2 got: %v", got)
	}

	// No answer: 504, and the client says so.
	h.Silent(true)
	start := time.Now()
	_, err = c.Command(ctx, "recover", 300*time.Millisecond)
	if !errors.Is(err, console.ErrNoAnswer) || time.Since(start) > 3*time.Second {
		t.Errorf("silent had2: got %v after %v, want ErrNoAnswer after 300ms", err, time.Since(start))
	}
	h.Silent(false)
	// The next request gets a fresh id, continuing from the slot.
	if r, err := c.Command(ctx, "recover", 5*time.Second); err != nil || r.ID != 10 {
		t.Errorf("after a timeout: got %+v, %v; want #10 answered", r, err)
	}
}

func TestBadRequests(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{})
	admintest.StartHad2(t, tbl, 0)
	srv := admintest.Start(t, n, tbl, nil)
	hc := unixHTTP(srv.Socket)
	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/v1/takeover", http.StatusMethodNotAllowed},
		{"POST", "/v1/status", http.StatusMethodNotAllowed},
		{"POST", "/v1/takeover?timeout=forever", http.StatusBadRequest},
		{"GET", "/v1/events?after=x", http.StatusBadRequest},
		{"GET", "/v1/history?since=yesterday", http.StatusBadRequest},
		{"GET", "/v1/nothing", http.StatusNotFound},
		{"GET", "/metrics", http.StatusNotFound}, // TCP only
	} {
		code, body := get(t, hc, tt.method, "http://unix"+tt.path, "")
		var e console.ErrorBody
		if code != tt.code || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("%s %s: got %d %s, want %d with {\"error\": …}", tt.method, tt.path, code, body, tt.code)
		}
	}
}

func unixHTTP(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
}

func get(t testing.TB, c *http.Client, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSocketMode(t *testing.T) {
	t.Run("no such group: root only", func(t *testing.T) {
		n, tbl := admintest.Node(t, admintest.NodeOptions{})
		srv := admintest.Start(t, n, tbl, nil)
		checkMode(t, srv.Socket, 0o600, -1)
	})
	t.Run("group", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("creating a group needs root")
		}
		group := fmt.Sprintf("hadt%d", os.Getpid())
		if out, err := exec.Command("groupadd", group).CombinedOutput(); err != nil {
			t.Skipf("groupadd: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("groupdel", group).Run() })
		g, err := user.LookupGroup(group)
		if err != nil {
			t.Fatal(err)
		}
		gid, _ := strconv.Atoi(g.Gid)
		n, tbl := admintest.Node(t, admintest.NodeOptions{Group: group})
		srv := admintest.Start(t, n, tbl, nil)
		checkMode(t, srv.Socket, 0o660, gid)
		// A stale socket of a dead server is replaced.
		srv.Stop(t)
		if _, err := os.Stat(srv.Socket); !os.IsNotExist(err) {
			t.Errorf("socket left after stop: %v", err)
		}
		srv = admintest.Start(t, n, tbl, nil)
		checkMode(t, srv.Socket, 0o660, gid)
	})
	t.Run("not a socket", func(t *testing.T) {
		n, tbl := admintest.Node(t, admintest.NodeOptions{})
		os.MkdirAll(n.Config.Admin.Socket[:strings.LastIndex(n.Config.Admin.Socket, "/")], 0o755)
		os.WriteFile(n.Config.Admin.Socket, []byte("precious"), 0o644)
		srv, err := admin.New(admin.Options{Node: n, Table: tbl, Log: admintest.Log(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Run(context.Background()); !errors.Is(err, admin.ErrNotSocket) {
			t.Errorf("run over a regular file: got %v, want ErrNotSocket", err)
		}
		if b, _ := os.ReadFile(n.Config.Admin.Socket); string(b) != "precious" {
			t.Error("the file at the socket's path was touched")
		}
	})
}

func checkMode(t *testing.T, path string, mode os.FileMode, gid int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != mode || (gid >= 0 && int(st.Gid) != gid) {
		t.Errorf("socket %s: got mode %v gid %d, want %04o gid %d", path, fi.Mode(), st.Gid, mode, gid)
	}
}

func TestRemoteToken(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{Remote: true})
	admintest.Fill(tbl, 0)
	h := admintest.StartHad2(t, tbl, wire.GroupOf(1))
	h.Event(slots.Event{Kind: slots.EventTable, Level: shm.Information, Took: 4e6, Start: true, Text: "table of g1 start done"})
	h.Event(slots.Event{Kind: slots.EventTransition, Level: shm.Information, From: wire.StateDown, To: wire.StateNormal})
	srv := admintest.Start(t, n, tbl, nil)
	base := "http://" + srv.TCP()
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, tt := range []struct {
		name, path, token string
		code              int
	}{
		{"no token", "/v1/status", "", http.StatusUnauthorized},
		{"wrong token", "/v1/status", "admintest-token-0123456780", http.StatusUnauthorized},
		{"short token", "/v1/status", "x", http.StatusUnauthorized},
		{"right token", "/v1/status", admintest.Token, http.StatusOK},
		{"metrics without", "/metrics", "", http.StatusUnauthorized},
		{"metrics", "/metrics", admintest.Token, http.StatusOK},
		{"no web console configured", "/", admintest.Token, http.StatusNotFound},
		{"no web console, no token", "/", "", http.StatusUnauthorized},
	} {
		code, body := get(t, hc, "GET", base+tt.path, tt.token)
		if code != tt.code {
			t.Errorf("%s: got %d %s, want %d", tt.name, code, body, tt.code)
		}
		if code == http.StatusUnauthorized && !strings.Contains(body, `"error"`) {
			t.Errorf("%s: 401 body %q lacks the JSON error", tt.name, body)
		}
	}
	// Requests to act, without the token or with a wrong one, or with the
	// token anywhere but in a bearer header, are refused before had2
	// hears of them.
	for _, tok := range []string{"", "admintest-token-0123456780", "x", admintest.Token + "x"} {
		if code, body := get(t, hc, "POST", base+"/v1/takeover", tok); code != http.StatusUnauthorized {
			t.Errorf("takeover with token %q: got %d %s, want 401", tok, code, body)
		}
	}
	for _, hdr := range []string{"Basic " + admintest.Token, admintest.Token, "Bearer"} {
		req, err := http.NewRequest("POST", base+"/v1/standby?token="+admintest.Token, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", hdr)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("standby with Authorization %q: got %d, want 401", hdr, resp.StatusCode)
		}
	}
	if cmds := h.Commands(); len(cmds) != 0 {
		t.Errorf("had2 got %v from requests without the token", cmds)
	}
	if code, body := get(t, hc, "POST", base+"/v1/takeover", admintest.Token); code != http.StatusOK || len(h.Commands()) != 1 {
		t.Errorf("takeover with the token: got %d %s and had2 got %v, want 200 and one command", code, body, h.Commands())
	}
	// The metrics the contract names.
	_, body := get(t, hc, "GET", base+"/metrics", admintest.Token)
	for _, name := range []string{`had_state{node="alpha"} 1`, "had_peer_alive 1", "had_transitions_total 1",
		`had_path_up{path="lan"} 1`, `had_path_rtt_seconds_bucket{path="lan",le="0.0005"} 1`,
		`had_heartbeats_late_total{path="lan"} 1`, `had_heartbeats_lost_total{path="rs232"} 3`,
		`had_frames_dropped_total{reason="bad_mac"} 2`, `had_table_run_seconds_count{op="start"} 1`,
		`had_agent_value{agent="web"} 2`, `had_process_restarts_total{role="had2"} 0`, `had_path_loss_ratio{path="rs232"} 0.03`} {
		if !strings.Contains(body, name) {
			t.Errorf("metrics lack %s:\n%s", name, body)
		}
	}
}

func TestTokenFile(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{Remote: true})
	tok := n.Config.Admin.TokenFile
	for _, tt := range []struct {
		name string
		text string
		mode os.FileMode
		ok   bool
	}{
		{"0600", admintest.Token + "\n", 0o600, true},
		{"0400, no newline", admintest.Token, 0o400, true},
		{"group readable", admintest.Token + "\n", 0o640, false},
		{"world readable", admintest.Token + "\n", 0o604, false},
		{"short", "short-token\n", 0o600, false},
		{"empty", "", 0o600, false},
	} {
		os.Remove(tok)
		if err := os.WriteFile(tok, []byte(tt.text), tt.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(tok, tt.mode)
		_, err := admin.New(admin.Options{Node: n, Table: tbl, Log: admintest.Log(t)})
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, admin.ErrToken)) {
			t.Errorf("%s: got %v, want ok %v (else ErrToken)", tt.name, err, tt.ok)
		}
	}
}

func TestPeerStatus(t *testing.T) {
	nb, tb := admintest.Node(t, admintest.NodeOptions{ID: 2, Remote: true})
	admintest.StartHad2(t, tb, 0)
	b := admintest.Start(t, nb, tb, nil)
	na, ta := admintest.Node(t, admintest.NodeOptions{ID: 1, Remote: true, Peer: b.TCP()})
	admintest.Fill(ta, 0)
	admintest.StartHad2(t, ta, wire.GroupOf(1))
	a := admintest.Start(t, na, ta, nil)

	waitFor(t, 5*time.Second, "the peer's status", func() bool {
		st := a.Status()
		return st.Peer != nil && st.Peer.Node.Name == "beta" && st.Peer.Node.ID == 2 && st.PeerError == ""
	})
	if st := a.Status(); len(st.Peer.Resources) != 1 || st.Peer.Resources[0].Table != "takeover" {
		t.Errorf("peer's resources: got %+v, want its takeover table", st.Peer.Resources)
	}
	b.Stop(t)
	waitFor(t, 5*time.Second, "the peer's error", func() bool {
		st := a.Status()
		return st.Peer == nil && st.PeerError != ""
	})
	t.Logf("peer down: %s", a.Status().PeerError)
}

func TestHistory(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{})
	admintest.Fill(tbl, 0)
	admintest.StartHad2(t, tbl, wire.GroupOf(1))
	srv := admintest.Start(t, n, tbl, nil)
	c := console.NewUnixClient(srv.Socket)
	defer c.Close()
	var h console.History
	waitFor(t, 5*time.Second, "two samples", func() bool {
		var err error
		h, err = c.History(context.Background(), time.Time{})
		return err == nil && len(h.Samples) >= 2
	})
	s := h.Samples[0]
	if h.IntervalS != 1 || s.State != "N" || s.PeerState != "N" || len(s.Paths) != 2 || s.Paths[0].RTTMs != 0.31 ||
		s.Local == nil || s.Local.CPUPercent != 12.5 || s.Peer != nil {
		t.Errorf("history: got %+v, first sample %+v", h, s)
	}
	later, err := c.History(context.Background(), h.Samples[0].T)
	if err != nil || len(later.Samples) == 0 || !later.Samples[0].T.After(h.Samples[0].T) {
		t.Errorf("since the first sample: got %+v, %v", later, err)
	}
}

// fakeAlerter records what the server sends.
type fakeAlerter struct {
	mu     sync.Mutex
	events []alerts.Event
}

func (f *fakeAlerter) Send(e alerts.Event) {
	f.mu.Lock()
	f.events = append(f.events, e)
	f.mu.Unlock()
}

func (f *fakeAlerter) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, e.Level+":"+e.Text)
	}
	return out
}

var _ admin.Alerter = (*alerts.Dispatcher)(nil)

func TestAlertsSurviveRestart(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{Alerts: `min_level = "warning"`})
	h := admintest.StartHad2(t, tbl, 0)
	h.Event(slots.Event{Kind: slots.EventPath, Level: shm.Warning, Text: "before start"})
	fa := &fakeAlerter{}
	srv := admintest.Start(t, n, tbl, fa)
	h.Event(slots.Event{Kind: slots.EventTransition, Level: shm.Information, Text: "info only"})
	h.Event(slots.Event{Kind: slots.EventAlert, Level: shm.Error, Text: "fenced"})
	waitFor(t, 5*time.Second, "two alerts", func() bool { return len(fa.texts()) == 2 })
	srv.Stop(t)

	h.Event(slots.Event{Kind: slots.EventAgent, Level: shm.Warning, Text: "while down"})
	fa2 := &fakeAlerter{}
	admintest.Start(t, n, tbl, fa2)
	h.Event(slots.Event{Kind: slots.EventAgent, Level: shm.Error, Text: "after restart"})
	waitFor(t, 5*time.Second, "the alerts after the restart", func() bool { return len(fa2.texts()) == 2 })
	time.Sleep(50 * time.Millisecond) // room for a wrong repeat to show
	if got, want := strings.Join(fa.texts(), "|"), "warning:before start|error:fenced"; got != want {
		t.Errorf("first server's alerts: got %s, want %s", got, want)
	}
	if got, want := strings.Join(fa2.texts(), "|"), "warning:while down|error:after restart"; got != want {
		t.Errorf("restarted server's alerts: got %s, want %s (no repeats, none skipped)", got, want)
	}
	if fa.events[0].Node != "alpha" || fa.events[0].Kind != "path" || fa.events[0].Time.IsZero() {
		t.Errorf("alert: got %+v, want node alpha, kind path, a time", fa.events[0])
	}
	r, _ := tbl.Read(shm.SlotAdminSrv)
	if got := slots.ParseDaemon(r).Extra[slots.ExtraAlertSeen]; got != 5 {
		t.Errorf("alerts seen: got %d, want 5", got)
	}
}

// The reload goes to had1 as SIGHUP; a fake had1 (this test binary, see
// TestMain) answers in its slot.
func TestReload(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{})
	srv := admintest.Start(t, n, tbl, nil)
	c := console.NewUnixClient(srv.Socket)
	defer c.Close()
	ctx := context.Background()

	// No had1: 503.
	if _, err := c.Reload(ctx, time.Second); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("reload without had1: got %v, want 503", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ADMIN_TEST_FAKE_HAD1="+n.Config.ShmPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 5*time.Second, "the fake had1's record", func() bool {
		r, _ := tbl.Read(shm.SlotHad1)
		return r.PID == int32(cmd.Process.Pid)
	})
	for i, want := range []console.ReloadReply{{OK: true, Text: "reload 1 applied"}, {OK: false, Text: "reload 2 refused: had.toml:3: bad"}} {
		got, err := c.Reload(ctx, 5*time.Second)
		if err != nil || got != want {
			t.Errorf("reload %d: got %+v, %v; want %+v", i+1, got, err, want)
		}
	}
}

// TestMain doubles as the fake had1 of TestReload.
func TestMain(m *testing.M) {
	if path := os.Getenv("ADMIN_TEST_FAKE_HAD1"); path != "" {
		fakeHad1(path)
		return
	}
	os.Exit(m.Run())
}

// fakeHad1 keeps had1's slot and answers each SIGHUP: the odd ones
// applied, the even ones refused.
func fakeHad1(path string) {
	t, err := shm.Open(path)
	if err != nil {
		os.Exit(3)
	}
	d := slots.Daemon{Value: shm.OK, Phase: slots.PhaseRunning}
	d.Start, _ = daemon.StartTime(os.Getpid())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	t.Write(shm.SlotHad1, d.Record())
	for range hup {
		d.Extra[slots.ExtraReloadGen]++
		g := d.Extra[slots.ExtraReloadGen]
		d.Extra[slots.ExtraReloadOK], d.Text = 1, fmt.Sprintf("reload %d applied", g)
		if g%2 == 0 {
			d.Extra[slots.ExtraReloadOK], d.Text = 0, fmt.Sprintf("reload %d refused: had.toml:3: bad", g)
		}
		t.Write(shm.SlotHad1, d.Record())
	}
}

// With the web console, its page is served on TCP without the token; the
// API still needs it.
func TestWebConsoleMount(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{Remote: true, Extra: "web = true"})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>had "+r.URL.Path) })
	srv, err := admin.New(admin.Options{Node: n, Table: tbl, Log: admintest.Log(t), Web: page})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-srv.Ready()
	_, addr := srv.Addrs()
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, tt := range []struct {
		path, token string
		code        int
		body        string
	}{
		{"/", "", http.StatusOK, "<html>had /"},
		{"/app.js", "", http.StatusOK, "<html>had /app.js"},
		{"/v1/status", "", http.StatusUnauthorized, `"error"`},
		{"/v1/status", admintest.Token, http.StatusOK, `"local"`},
	} {
		code, body := get(t, hc, "GET", "http://"+addr.String()+tt.path, tt.token)
		if code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s (token %v): got %d %q, want %d with %q", tt.path, tt.token != "", code, body, tt.code, tt.body)
		}
	}
}
