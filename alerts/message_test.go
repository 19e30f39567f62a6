package alerts

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name string
		a    alert
		want string
	}{
		{"plain", alert{Event: ev("warning", "path", "heartbeat path lan down")},
			"had alpha: warning: heartbeat path lan down at 2026-11-22T02:00:00Z"},
		{"held", alert{Event: ev("error", "path", "lan down"), held: 3, since: t0.Add(-time.Minute)},
			"had alpha: error: lan down at 2026-11-22T02:00:00Z (3 more since 2026-11-22T01:59:00Z)"},
		{"zone made UTC", alert{Event: Event{Time: t0.In(time.FixedZone("X", 3600)), Node: "b", Level: "info", Text: "x"}},
			"had b: info: x at 2026-11-22T02:00:00Z"},
		{"newlines cannot add lines", alert{Event: ev("warning", "table", "step 3 failed:\r\nSubject: spoof")},
			"had alpha: warning: step 3 failed:  Subject: spoof at 2026-11-22T02:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.line(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShort(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name     string
		a        alert
		contains []string
	}{
		{"short text kept whole", alert{Event: ev("warning", "path", "lan down")},
			[]string{"had alpha: warning: lan down at 2026-11-22T02:00:00Z"}},
		{"long text cut, time and count kept", alert{Event: ev("error", "table", long), held: 12, since: t0},
			[]string{"had alpha: error: éé", "…", " at 2026-11-22T02:00:00Z (12 more since 2026-11-22T02:00:00Z)"}},
		{"long node", alert{Event: Event{Time: t0, Node: long, Level: "error", Text: "x"}}, []string{"had éé"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.a.short()
			if n := utf8.RuneCountInString(got); n > shortLen {
				t.Errorf("got %d characters, want at most %d: %q", n, shortLen, got)
			}
			for _, c := range tt.contains {
				if !strings.Contains(got, c) {
					t.Errorf("got %q, want it to contain %q", got, c)
				}
			}
		})
	}
}

func TestEnv(t *testing.T) {
	got := strings.Join(alert{Event: ev("warning", "path", "lan\ndown")}.env(), "|")
	want := "HAD_ALERT_NODE=alpha|HAD_ALERT_LEVEL=warning|HAD_ALERT_KIND=path|HAD_ALERT_TIME=2026-11-22T02:00:00Z|HAD_ALERT_TEXT=lan down"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCompose(t *testing.T) {
	a := alert{Event: ev("warning", "path", "heartbeat path lan down"), held: 2, since: t0.Add(-time.Minute)}
	raw := compose(a, "had <had@example.org>", []string{"ops@example.org", "Zoë <z@example.org>"}, t0, "1.abc", "alpha.example.org")
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse composed message: %v\n%s", err, raw)
	}
	for k, want := range map[string]string{
		"Date":       "Sun, 22 Nov 2026 02:00:00 +0000",
		"From":       `"had" <had@example.org>`,
		"Message-Id": "<1.abc@alpha.example.org>",
		"Subject":    "had alpha: warning: heartbeat path lan down at 2026-11-22T02:00:00Z (2 more since 2026-11-22T01:59:00Z)",
		"To":         `<ops@example.org>, =?utf-8?q?Zo=C3=AB?= <z@example.org>`,
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	body, _ := io.ReadAll(m.Body)
	for _, want := range []string{"node:  alpha\r\n", "level: warning\r\n", "kind:  path\r\n",
		"time:  2026-11-22T02:00:00Z\r\n", "held:  2 more", "\r\n\r\nheartbeat path lan down\r\n"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body %q lacks %q", body, want)
		}
	}
}

// FuzzCompose: whatever the event says, the message parses, has exactly
// its own headers (no text can add one), a subject naming the node and
// time, and a body that decodes back to the text.
func FuzzCompose(f *testing.F) {
	f.Add("alpha", "warning", "path", "heartbeat path lan down")
	f.Add("alpha", "error", "table", "step 3 failed:\r\nBcc: x@example.org\r\n\r\nspoof")
	f.Add("bêta", "info", "agent", "température élevée\n.\n")
	f.Add("n", "warning", "x", strings.Repeat("x", 2000))
	f.Fuzz(func(t *testing.T, node, level, kind, text string) {
		a := alert{Event: Event{Time: t0, Node: node, Level: level, Kind: kind, Text: text}}
		raw := compose(a, "had@example.org", []string{"ops@example.org"}, t0, "1.2", "h")
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("parse composed message: %v\n%q", err, raw)
		}
		if len(m.Header) != 8 {
			t.Fatalf("got %d headers, want 8: %v", len(m.Header), m.Header)
		}
		subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			t.Fatalf("decode subject %q: %v", m.Header.Get("Subject"), err)
		}
		// Only a node name or level of most of the subject's length
		// can push the time out.
		if short := utf8.RuneCountInString(a.head()) < maxSubject-60; short &&
			(!strings.HasPrefix(subj, a.head()) || !strings.Contains(subj, " at 2026-11-22T02:00:00Z")) {
			t.Errorf("subject %q does not name node %q and the time", subj, node)
		}
		if n := utf8.RuneCountInString(subj); n > maxSubject {
			t.Errorf("got a subject of %d characters, want at most %d", n, maxSubject)
		}
		var body io.Reader = m.Body
		if m.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		got := strings.ReplaceAll(string(b), "\r\n", "\n")
		want := bodyText(text)
		if !strings.Contains(got, want) {
			t.Errorf("body %q does not hold the text %q", got, want)
		}
	})
}
