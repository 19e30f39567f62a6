// Package fakeapi is a stand-in for the admin server's console API
// (docs/console-api.md): a pair of nodes, alpha (node 1, the local one) and
// bravo (node 2), with canned but moving figures, a second-by-second history,
// and takeover, standby and recover requests that change the pair's state.
// The web console's browser tests and its screenshot run against it.
package fakeapi

import (
	"crypto/subtle"
	"encoding/json"
	"math/rand"
	"net/http"
	"sync"
	"time"
)

// maxSamples is the history the fake keeps: the admin server's default of
// 10 minutes at one sample a second.
const maxSamples = 600

// Options configures a Fake.
type Options struct {
	Token string           // the bearer token every request must carry
	Seed  int64            // seeds the noise in the figures
	Now   func() time.Time // the clock; nil means time.Now
	Delay time.Duration    // how long a POST waits before had2 "answers"
}

// Fake is the fake admin server. Its methods are safe for concurrent use.
type Fake struct {
	mu       sync.Mutex
	opt      Options
	rng      *rand.Rand
	nodes    [2]*node // [0] the local node, [1] its peer
	samples  []Sample
	last     time.Time // the time of the newest sample
	replyID  uint64
	reply    *Reply
	broken   bool // every request gets its connection closed
	peerGone bool // the peer's admin server does not answer
	started  time.Time
}

// New makes a fake whose pair has been (N,N) since now.
func New(o Options) *Fake {
	if o.Now == nil {
		o.Now = time.Now
	}
	now := o.Now()
	f := &Fake{opt: o, rng: rand.New(rand.NewSource(o.Seed)), started: now.Add(-2 * time.Hour)}
	f.nodes[0] = newNode(1, "alpha", f.started)
	f.nodes[1] = newNode(2, "bravo", f.started)
	f.last = now.Truncate(time.Second)
	f.samples = append(f.samples, f.sample(f.last))
	return f
}

// SetBroken makes every request fail at the connection level (the browser
// sees a network error), or stops that.
func (f *Fake) SetBroken(b bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.broken = b
}

// SetPeerUnreachable makes /v1/status answer "peer": null with a
// peer_error, as when the peer's admin server does not answer.
func (f *Fake) SetPeerUnreachable(b bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peerGone = b
}

// Handler serves the API: /v1/status, /v1/history, /v1/events and the
// POSTs /v1/takeover, /v1/standby, /v1/recover, /v1/reload.
func (f *Fake) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", f.status)
	mux.HandleFunc("GET /v1/history", f.history)
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"events": []any{}, "newest": 0})
	})
	for _, op := range []string{"takeover", "standby", "recover"} {
		mux.HandleFunc("POST /v1/"+op, func(w http.ResponseWriter, r *http.Request) { f.admin(w, r, op) })
	}
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "text": "configuration unchanged"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		broken := f.broken
		f.mu.Unlock()
		if broken {
			hangUp(w)
			return
		}
		want := []byte("Bearer " + f.opt.Token)
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong token"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (f *Fake) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opt.Now()
	f.advance(now)
	rep := StatusReply{Local: f.view(0, now)}
	if f.peerGone || !f.nodes[1].alive {
		rep.PeerError = "GET http://10.213.0.2:8443/v1/status: dial tcp 10.213.0.2:8443: connect: connection refused"
	} else {
		p := f.view(1, now)
		rep.Peer = &p
	}
	writeJSON(w, http.StatusOK, rep)
}

func (f *Fake) history(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance(f.opt.Now())
	out := History{IntervalS: 1, Samples: []Sample{}}
	var since time.Time
	if s := r.URL.Query().Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "since: " + err.Error()})
			return
		}
		since = t
	}
	for _, s := range f.samples {
		if s.T.After(since) {
			out.Samples = append(out.Samples, s)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) admin(w http.ResponseWriter, r *http.Request, op string) {
	if f.opt.Delay > 0 {
		select {
		case <-time.After(f.opt.Delay): // had2 "thinking"
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opt.Now()
	f.advance(now)
	ok, text := f.apply(op, now)
	f.replyID++
	f.reply = &Reply{ID: f.replyID, OK: ok, Text: text}
	writeJSON(w, http.StatusOK, f.reply)
}

// advance appends a sample for every whole second up to now.
func (f *Fake) advance(now time.Time) {
	for t := f.last.Add(time.Second); !t.After(now); t = t.Add(time.Second) {
		f.samples = append(f.samples, f.sample(t))
		f.last = t
	}
	if n := len(f.samples); n > maxSamples {
		f.samples = append(f.samples[:0], f.samples[n-maxSamples:]...)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
