package agents

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
)

func TestHTTPCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("status: alive\n"))
		case "/down":
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/big":
			w.Write([]byte(strings.Repeat("x", maxBody) + "alive"))
		}
	}))
	defer srv.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("alive")) }))
	defer tls.Close()

	tests := []struct {
		name   string
		a      config.Agent
		want   shm.Value
		text   string
		before time.Duration // the check must end within this
	}{
		{"GET ok", config.Agent{URL: srv.URL + "/ok"}, shm.OK, "GET " + srv.URL + "/ok: 200 in", time.Second},
		{"HEAD ok", config.Agent{URL: srv.URL + "/ok", Method: "HEAD"}, shm.OK, "HEAD", time.Second},
		{"body found", config.Agent{URL: srv.URL + "/ok", ExpectBody: "alive"}, shm.OK, "200", time.Second},
		{"body missing", config.Agent{URL: srv.URL + "/ok", ExpectBody: "dead"}, shm.Error, `body lacks "dead"`, time.Second},
		{"body past the limit", config.Agent{URL: srv.URL + "/big", ExpectBody: "alive"}, shm.Error, "body lacks", time.Second},
		{"status 503", config.Agent{URL: srv.URL + "/down"}, shm.Error, "status 503, want 200", time.Second},
		{"expected 503", config.Agent{URL: srv.URL + "/down", ExpectStatus: 503}, shm.OK, "503", time.Second},
		{"redirect not followed", config.Agent{URL: srv.URL + "/moved"}, shm.Error, "status 302, want 200", time.Second},
		{"slow page times out", config.Agent{URL: srv.URL + "/slow", Timeout: 200 * time.Millisecond}, shm.Error, "context deadline exceeded", time.Second},
		{"refused", config.Agent{URL: "http://127.0.0.1:1/"}, shm.Error, "connection refused", time.Second},
		{"tls unverified", config.Agent{URL: tls.URL}, shm.Error, "certificate", time.Second},
		{"tls skip verify", config.Agent{URL: tls.URL, TLSSkipVerify: true}, shm.OK, "200", time.Second},
	}
	for _, tc := range tests {
		a := config.DefaultAgent(config.KindHTTP, "web")
		a.URL, a.ExpectBody, a.TLSSkipVerify = tc.a.URL, tc.a.ExpectBody, tc.a.TLSSkipVerify
		if tc.a.Method != "" {
			a.Method = tc.a.Method
		}
		if tc.a.ExpectStatus != 0 {
			a.ExpectStatus = tc.a.ExpectStatus
		}
		if tc.a.Timeout != 0 {
			a.Timeout = tc.a.Timeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), a.Timeout)
		start := time.Now()
		got := New1(t, a).Check(ctx)
		cancel()
		if got.Value != tc.want || !strings.Contains(got.Text, tc.text) {
			t.Errorf("%s: got %v %q, want %v %q", tc.name, got.Value, got.Text, tc.want, tc.text)
		}
		if took := time.Since(start); took > tc.before {
			t.Errorf("%s: took %s, want under %s", tc.name, took, tc.before)
		}
	}
}

func TestHTTPCheckNewConnectionEachTime(t *testing.T) {
	conns := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++
		}
	}
	srv.Start()
	defer srv.Close()
	a := config.DefaultAgent(config.KindHTTP, "web")
	a.URL = srv.URL
	c := New1(t, a)
	for range 3 {
		if got := c.Check(context.Background()); got.Value != shm.OK {
			t.Fatalf("got %v %q", got.Value, got.Text)
		}
	}
	srv.Close() // waits for the handlers, so conns is final
	if conns != 3 {
		t.Errorf("got %d connections for 3 checks, want 3 (a new client each time)", conns)
	}
}
