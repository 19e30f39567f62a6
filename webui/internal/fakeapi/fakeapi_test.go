package fakeapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// clock is a settable fake time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func call(t *testing.T, h http.Handler, method, path, token string, out any) int {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if out != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return rec.Code
}

func TestAuth(t *testing.T) {
	h := New(Options{Token: "tok"}).Handler()
	for _, tc := range []struct {
		token string
		code  int
	}{{"", 401}, {"nope", 401}, {"tok", 200}} {
		if got := call(t, h, "GET", "/v1/status", tc.token, nil); got != tc.code {
			t.Errorf("token %q: got %d, want %d", tc.token, got, tc.code)
		}
	}
}

func TestAdminFlipsState(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
	h := New(Options{Token: "tok", Now: c.now}).Handler()
	for _, step := range []struct {
		op   string
		ok   bool
		pair string
	}{
		{"recover", false, "(N,N)"},
		{"takeover", true, "(T,D)"},
		{"takeover", false, "(T,D)"},
		{"standby", true, "(D,T)"},
		{"standby", false, "(D,T)"},
		{"recover", true, "(N,N)"},
	} {
		c.t = c.t.Add(time.Second)
		var r Reply
		if code := call(t, h, "POST", "/v1/"+step.op, "tok", &r); code != 200 || r.OK != step.ok {
			t.Errorf("%s: got %d ok=%v (%s), want 200 ok=%v", step.op, code, r.OK, r.Text, step.ok)
		}
		var st StatusReply
		call(t, h, "GET", "/v1/status", "tok", &st)
		if st.Local.Pair != step.pair {
			t.Errorf("after %s: got pair %s, want %s", step.op, st.Local.Pair, step.pair)
		}
		if st.Local.Admin == nil || st.Local.Admin.Text != r.Text {
			t.Errorf("after %s: got last_admin_reply %+v, want %q", step.op, st.Local.Admin, r.Text)
		}
	}
}

func TestHistory(t *testing.T) {
	c := &clock{time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
	f := New(Options{Token: "tok", Seed: 1, Now: c.now})
	f.Backfill(5*time.Minute, Outage{From: 4 * time.Minute, To: 3 * time.Minute})
	h := f.Handler()
	var hist History
	call(t, h, "GET", "/v1/history", "tok", &hist)
	if got := len(hist.Samples); got != 301 {
		t.Fatalf("got %d samples, want 301", got)
	}
	silent, pairs := 0, map[string]bool{}
	for _, s := range hist.Samples {
		if !s.Paths[0].Up {
			silent++
			if s.Peer != nil {
				t.Errorf("%v: got peer figures while it is silent, want none", s.T)
			}
		}
		pairs["("+s.State+","+s.PeerState+")"] = true
	}
	if silent != 60 {
		t.Errorf("got %d silent samples, want 60", silent)
	}
	for _, p := range []string{"(N,N)", "(N,D)", "(T,D)", "(T,R)"} {
		if !pairs[p] {
			t.Errorf("got pairs %v, want %s among them", pairs, p)
		}
	}
	c.t = c.t.Add(3 * time.Second)
	var since History
	call(t, h, "GET", "/v1/history?since="+url.QueryEscape(hist.Samples[len(hist.Samples)-1].T.Format(time.RFC3339)), "tok", &since)
	if len(since.Samples) != 3 {
		t.Errorf("got %d samples since the last one, want 3", len(since.Samples))
	}
	if code := call(t, h, "GET", "/v1/history?since=yesterday", "tok", nil); code != 400 {
		t.Errorf("got %d for a bad since, want 400", code)
	}
}
