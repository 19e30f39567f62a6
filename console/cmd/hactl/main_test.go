package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/admin/admintest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// hactl runs the command in this process and returns its exit code and output.
func hactl(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// pair starts two nodes' admin servers, alpha asking beta for its status,
// and returns alpha's configuration file and its had2.
func pair(t *testing.T) (cfgPath string, had2 *admintest.Had2) {
	t.Helper()
	nb, tb := admintest.Node(t, admintest.NodeOptions{ID: 2, Remote: true})
	admintest.Fill(tb, 0)
	admintest.StartHad2(t, tb, 0)
	b := admintest.Start(t, nb, tb, nil)
	na, ta := admintest.Node(t, admintest.NodeOptions{ID: 1, Remote: true, Peer: b.TCP()})
	admintest.Fill(ta, 1)
	h := admintest.StartHad2(t, ta, wire.GroupOf(1))
	h.Event(slots.Event{Kind: slots.EventTransition, Level: shm.Information, From: wire.StateDown, To: wire.StateNormal, Text: "state D → N (booted)"})
	h.Event(slots.Event{Kind: slots.EventPath, Level: shm.Warning, Text: "heartbeat path rs232 down"})
	a := admintest.Start(t, na, ta, nil)
	// Wait for alpha to have heard from beta's admin server.
	for i := 0; ; i++ {
		if st := a.Status(); st.Peer != nil {
			break
		}
		if i > 500 {
			t.Fatal("alpha never got beta's status")
		}
		sleep()
	}
	return filepath.Join(filepath.Dir(na.Config.ShmPath), "had.toml"), h
}

func TestStatus(t *testing.T) {
	cfg, _ := pair(t)
	code, out, errOut := hactl("--config", cfg, "status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"pair (N,N)", "node 1 alpha", "resources:", "g1  recover  HELD", "vip 10.213.0.100, cmd web",
		"loss 3%", "transitions:", "D → N", "admin", "=== beta, as its own admin server reports ===", "node 2 beta",
		"g1  takeover not held"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = hactl("--config", cfg, "status", "--json")
	var st console.StatusResponse
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v:\n%s", code, err, out)
	}
	if st.Local.Node.Name != "alpha" || st.Peer == nil || st.Peer.Node.Name != "beta" || st.PeerError != "" ||
		len(st.Local.Resources) != 1 || len(st.Local.Transitions) != 1 || st.Local.Paths[1].LossPercent != 3 {
		t.Errorf("status --json: got %+v", st)
	}
	admintest.CheckStatusSchema(t, []byte(out))
}

func TestCommands(t *testing.T) {
	cfg, h := pair(t)
	code, out, _ := hactl("--config", cfg, "takeover")
	if code != 0 || out != "takeover done\n" {
		t.Errorf("takeover: got exit %d %q, want 0 \"takeover done\"", code, out)
	}
	h.Refuse(true)
	code, out, _ = hactl("--config", cfg, "standby", "--json")
	var r console.Reply
	if err := json.Unmarshal([]byte(out), &r); code != 1 || err != nil || r.OK || r.ID != 2 {
		t.Errorf("refused standby --json: got exit %d %+v %v, want exit 1, #2 not ok", code, r, err)
	}
	code, _, errOut := hactl("--config", cfg, "reload")
	if code != 1 || !strings.Contains(errOut, "503") {
		t.Errorf("reload without had1: got exit %d %q, want 1 and the 503", code, errOut)
	}
	code, _, errOut = hactl("--config", cfg, "fly")
	if code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: got exit %d %q", code, errOut)
	}
}

func TestEventsAndHistory(t *testing.T) {
	cfg, _ := pair(t)
	code, out, _ := hactl("--config", cfg, "events")
	if code != 0 || !strings.Contains(out, "#1") || !strings.Contains(out, "WARNING     path       heartbeat path rs232 down") {
		t.Errorf("events: got exit %d:\n%s", code, out)
	}
	code, out, _ = hactl("--config", cfg, "events", "--json", "--after", "1")
	var ev console.Events
	if err := json.Unmarshal([]byte(out), &ev); code != 0 || err != nil || ev.Newest != 2 || len(ev.Events) != 1 || ev.Events[0].Kind != "path" {
		t.Errorf("events --json --after 1: got exit %d %+v %v", code, ev, err)
	}
	code, out, _ = hactl("--config", cfg, "history", "--json")
	var h console.History
	if err := json.Unmarshal([]byte(out), &h); code != 0 || err != nil || h.IntervalS != 1 || len(h.Samples) == 0 || h.Samples[0].State != "N" {
		t.Errorf("history --json: got exit %d %+v %v", code, h, err)
	}
	code, out, _ = hactl("--config", cfg, "history")
	if code != 0 || !strings.Contains(out, "samples, one every 1s") || !strings.Contains(out, "lan 0.31ms") {
		t.Errorf("history: got exit %d:\n%s", code, out)
	}
}

func TestTopOnce(t *testing.T) {
	cfg, _ := pair(t)
	code, out, errOut := hactl("--config", cfg, "top", "--once")
	if code != 0 {
		t.Fatalf("top --once: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"had top   pair (N,N)", "alpha (node 1, this node)   state N   holds g1",
		"beta (node 2, peer, from its admin server)", "perf   cpu 12.5%", "path   lan      up   rtt   0.31 ms  loss   0%",
		"loss   3%", "agent  web", "procs  had1 ok", "transitions (alpha)", "D → N"} {
		if !strings.Contains(out, want) {
			t.Errorf("top --once lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("top --once wrote terminal codes:\n%q", out)
	}
	t.Logf("top --once:\n%s", out)
}

func TestNoServer(t *testing.T) {
	code, _, errOut := hactl("--socket", filepath.Join(t.TempDir(), "none.sock"), "status")
	if code != 1 || !strings.Contains(errOut, "cannot reach the admin server") {
		t.Errorf("no server: got exit %d %q", code, errOut)
	}
}

func sleep() { time.Sleep(10 * time.Millisecond) }
