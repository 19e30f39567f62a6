package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hadcluster/had/admin/admintest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func TestStatusSchema(t *testing.T) {
	n, tbl := admintest.Node(t, admintest.NodeOptions{})
	admintest.Fill(tbl, 0)
	h := admintest.StartHad2(t, tbl, wire.GroupOf(1))
	h.Event(slots.Event{Kind: slots.EventTransition, Level: shm.Information, From: wire.StateDown, To: wire.StateNormal})
	srv := admintest.Start(t, n, tbl, nil)
	hc := unixHTTP(srv.Socket)
	if code, body := get(t, hc, http.MethodPost, "http://unix/v1/takeover", ""); code != http.StatusOK || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("takeover: got %d %s", code, body)
	}
	code, body := get(t, hc, http.MethodGet, "http://unix/v1/status", "")
	if code != http.StatusOK {
		t.Fatalf("status: got %d %s", code, body)
	}
	admintest.CheckStatusSchema(t, []byte(body))
	// Events and history keys.
	_, body = get(t, hc, http.MethodGet, "http://unix/v1/events", "")
	for _, key := range []string{`"events":[`, `"newest":`, `"n":1`, `"level":"INFORMATION"`, `"kind":"transition"`, `"from":"D"`, `"to":"N"`, `"time":"`, `"text":`} {
		if !strings.Contains(body, key) {
			t.Errorf("events lack %s: %s", key, body)
		}
	}
	_, body = get(t, hc, http.MethodGet, "http://unix/v1/history", "")
	for _, key := range []string{`"interval_s":1`, `"samples":[{`, `"t":"`, `"paths":[{"name":"lan","up":true,"rtt_ms":0.31`, `"local":{"cpu_percent"`, `"peer":null`, `"state":"N"`, `"peer_state":"N"`} {
		if !strings.Contains(body, key) {
			t.Errorf("history lacks %s: %s", key, body)
		}
	}
}
