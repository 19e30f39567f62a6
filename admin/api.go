package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/shm/slots"
)

// Request timeouts: ?timeout= on the POSTs, within [1 ms, MaxTimeout].
const (
	DefaultTimeout = 30 * time.Second
	MaxTimeout     = 5 * time.Minute
)

// api is the console API of docs/console-api.md, the same on the socket
// and (behind the token) on TCP.
func (s *Server) api() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/status", s.only(http.MethodGet, s.handleStatus))
	mux.HandleFunc("/v1/history", s.only(http.MethodGet, s.handleHistory))
	mux.HandleFunc("/v1/events", s.only(http.MethodGet, s.handleEvents))
	for name, cmd := range console.Commands {
		mux.HandleFunc("/v1/"+name, s.only(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			timeout, ok := timeoutOf(w, r)
			if !ok {
				return
			}
			reply, err := s.command(r.Context(), cmd, timeout)
			if err != nil {
				writeError(w, statusOf(err), err.Error())
				return
			}
			writeJSON(w, http.StatusOK, reply)
		}))
	}
	mux.HandleFunc("/v1/reload", s.only(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		timeout, ok := timeoutOf(w, r)
		if !ok {
			return
		}
		reply, err := s.reload(r.Context(), timeout)
		if err != nil {
			writeError(w, statusOf(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, reply)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return mux
}

// only answers other methods with 405 and the JSON error body.
func (s *Server) only(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path+": use "+method)
			return
		}
		h(w, r)
	}
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Status())
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since=%q: want an RFC 3339 time", v))
			return
		}
		since = t
	}
	writeJSON(w, http.StatusOK, console.History{IntervalS: SampleEvery.Seconds(), Samples: s.hist.since(since)})
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("after=%q: want an event number", v))
			return
		}
		after = n
	}
	events, newest := slots.ReadEvents(s.t, after)
	out := console.Events{Events: make([]console.Event, 0, len(events)), Newest: newest}
	for _, e := range events {
		out.Events = append(out.Events, console.EventOf(e))
	}
	writeJSON(w, http.StatusOK, out)
}

// timeoutOf reads ?timeout=, answering 400 when it is malformed.
func timeoutOf(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	v := r.URL.Query().Get("timeout")
	if v == "" {
		return DefaultTimeout, true
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Millisecond || d > MaxTimeout {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("timeout=%q: want a duration from 1ms to %v, like 30s", v, MaxTimeout))
		return 0, false
	}
	return d, true
}

// statusOf maps a request's error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNoAnswer):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, text string) {
	writeJSON(w, code, console.ErrorBody{Error: text})
}
