package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/admin/admintest"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
)

// The console end to end: hactl over each node's admin socket shows both
// nodes (the peer's status from the peer's admin server), `hactl takeover`
// on B moves the VIP to B and `hactl standby` on B moves it back, as the
// client sees it; the JSON has the documented members; /metrics answers
// over TCP with the token only.
func TestConsole(t *testing.T) {
	c, p := up(t, cluster.Options{Remote: true, Agents: "[[agent]]\nname = \"stats\"\nkind = \"stats\"\n"})

	// Both nodes, from B's socket. The peer's status is B's admin server's
	// copy, at most a second old: wait for A's settled one.
	var raw string
	var st console.StatusResponse
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := c.Hactl("B", "status", "--json")
		raw = out
		st = console.StatusResponse{}
		if err == nil && json.Unmarshal([]byte(out), &st) == nil && st.Peer != nil && st.Local.Perf != nil &&
			len(st.Local.Transitions) > 0 && st.Peer.Node.Held == "g1" && st.Peer.Node.State == "N" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hactl status --json on B never showed A from A's admin server: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Local.Node.Name != "B" || st.Peer.Node.Name != "A" || st.Peer.Node.State != "N" || st.PeerError != "" {
		t.Errorf("status on B: local %+v, peer %+v, peer error %q", st.Local.Node, st.Peer.Node, st.PeerError)
	}
	if len(st.Local.Resources) != 1 || st.Local.Resources[0].Table != "takeover" || st.Local.Resources[0].Held {
		t.Errorf("B's resources: got %+v, want its takeover table, not held", st.Local.Resources)
	}
	admintest.CheckStatusSchema(t, []byte(raw))
	text, err := c.Hactl("B", "status")
	if err != nil || !strings.Contains(text, "=== A, as its own admin server reports ===") || !strings.Contains(text, "loss") {
		t.Errorf("hactl status on B: %v\n%s", err, text)
	}

	// takeover on B: the client is served by B.
	start := time.Now()
	out, err := c.Hactl("B", "takeover")
	if err != nil {
		t.Fatalf("hactl takeover on B: %v: %s", err, out)
	}
	t.Logf("hactl takeover on B: %s", strings.TrimSpace(out))
	if _, err := p.FirstReplyFrom("B", start, 10*time.Second); err != nil {
		t.Fatalf("after hactl takeover on B: %v", err)
	}
	waitARP(t, c, c.VIP(1), "B")
	if _, err := c.WaitStatus("B", 5*time.Second, "B holding g1", func(s console.Status) bool { return s.Node.Held == "g1" }); err != nil {
		t.Fatal(err)
	}

	// standby on B: back to A.
	start = time.Now()
	out, err = c.Hactl("B", "standby", "--json")
	var r console.Reply
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || !r.OK {
		t.Fatalf("hactl standby --json on B: %v: %s", err, out)
	}
	t.Logf("hactl standby on B: %+v", r)
	if _, err := p.FirstReplyFrom("A", start, 10*time.Second); err != nil {
		t.Fatalf("after hactl standby on B: %v", err)
	}
	waitARP(t, c, c.VIP(1), "A")

	// The transitions and events tell the story.
	if st, err := c.WaitStatus("B", 5*time.Second, "B's transitions", func(s console.Status) bool {
		return len(s.Transitions) >= 3
	}); err != nil {
		t.Error(err)
	} else {
		t.Logf("B's transitions: %+v", st.Transitions)
	}
	out, err = c.Hactl("B", "events", "--json")
	var ev console.Events
	if err != nil || json.Unmarshal([]byte(out), &ev) != nil || ev.Newest == 0 || !strings.Contains(out, `"kind": "admin"`) {
		t.Errorf("hactl events --json on B: %v\n%s", err, out)
	}
	out, err = c.Hactl("B", "top", "--once")
	if err != nil || !strings.Contains(out, "B (node 2, this node)") || !strings.Contains(out, "A (node 1, peer, from its admin server)") {
		t.Errorf("hactl top --once on B: %v\n%s", err, out)
	}

	// /metrics over TCP, from the client: the token is required.
	url := c.AdminURL("A") + "/metrics"
	if code, _ := clientGet(t, c, url, ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: got %d, want 401", code)
	}
	code, body := clientGet(t, c, url, cluster.Token)
	if code != http.StatusOK || !strings.Contains(body, `had_state{node="A"} 1`) || !strings.Contains(body, `had_path_up{path="lan"} 1`) {
		t.Errorf("/metrics with the token: got %d:\n%s", code, body)
	}
}

// clientGet fetches url from the client namespace, with the bearer token
// when one is given, and returns the status and body.
func clientGet(t *testing.T, c *cluster.Cluster, url, token string) (int, string) {
	t.Helper()
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var conn net.Conn
			err := c.Bed.InNS("C", func() error {
				var err error
				conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		},
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(fmt.Errorf("get %s from the client: %w", url, err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
