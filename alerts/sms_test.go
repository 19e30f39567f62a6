package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSMSURL(t *testing.T) {
	type req struct {
		method, ctype string
		body          smsJSON
	}
	got := make(chan req, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var j smsJSON
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &j); err != nil {
			t.Errorf("decode %s: %v", b, err)
		}
		got <- req{r.Method, r.Header.Get("Content-Type"), j}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	a := alert{Event: ev("error", "path", strings.Repeat("heartbeat path lan down ", 10)), held: 4, since: t0}
	if err := newSMSURL(srv.URL).deliver(context.Background(), a); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	r := <-got
	if r.method != "POST" || r.ctype != "application/json" {
		t.Errorf("got %s %s, want POST application/json", r.method, r.ctype)
	}
	want := smsJSON{Node: "alpha", Level: "error", Kind: "path", Time: "2026-11-22T02:00:00Z", Text: a.Text, Message: a.short()}
	if r.body != want {
		t.Errorf("got %+v, want %+v", r.body, want)
	}
	if n := utf8.RuneCountInString(r.body.Message); n > 160 || !strings.HasSuffix(r.body.Message, "(4 more since 2026-11-22T02:00:00Z)") {
		t.Errorf("got message %q (%d characters), want ≤ 160 ending with the count", r.body.Message, n)
	}
}

func TestSMSURLErrors(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "quota exceeded", http.StatusTooManyRequests)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			select {
			case <-release:
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	tests := []struct{ path, want string }{
		{"/fail", "post sms: status 429: quota exceeded"},
		{"/moved", "post sms: status 302"},
		{"/slow", "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := newSMSURL(srv.URL+tt.path).deliver(ctx, alert{Event: ev("error", "x", "y")})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSMSCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	script := fmt.Sprintf(`{ echo "$HAD_ALERT_NODE $HAD_ALERT_LEVEL"; cat; } > %s`, out)
	a := alert{Event: ev("warning", "path", strings.Repeat("x", 300))}
	if err := newSMSCommand(script).deliver(context.Background(), a); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	b, _ := os.ReadFile(out)
	first, msg, _ := strings.Cut(strings.TrimSuffix(string(b), "\n"), "\n")
	if first != "alpha warning" || msg != a.short() || utf8.RuneCountInString(msg) != 160 {
		t.Errorf("got %q and %q (%d characters), want the environment and the 160-character message",
			first, msg, utf8.RuneCountInString(msg))
	}
}
