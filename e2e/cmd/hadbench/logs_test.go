package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		name, in  string
		ok        bool
		proc, msg string
		at        string
	}{
		{"receiver warning", `{"level":"warn","node":"B","proc":"receiver","silent":350.1,"time":"2026-12-04T17:21:13.123456789Z","message":"peer silent on every path: OVERTIME"}`,
			true, "receiver", "peer silent on every path: OVERTIME", "2026-12-04T17:21:13.123456789Z"},
		{"no message", `{"level":"info","proc":"had2","time":"2026-12-04T17:21:13Z"}`, true, "had2", "", "2026-12-04T17:21:13Z"},
		{"testbed marker", "### testbed 2026-12-04T17:21:13Z: start in B: had1", false, "", "", ""},
		{"no time", `{"level":"info","proc":"had2","message":"x"}`, false, "", "", ""},
		{"bad time", `{"time":"yesterday","message":"x"}`, false, "", "", ""},
		{"cut short", `{"level":"info","proc":"had2","time":"2026-12-04T17:21`, false, "", "", ""},
		{"empty", "", false, "", "", ""},
	}
	for _, tt := range tests {
		l, ok := parseLogLine([]byte(tt.in))
		if ok != tt.ok || l.Proc != tt.proc || l.Msg != tt.msg {
			t.Errorf("%s: got %v %q %q, want %v %q %q", tt.name, ok, l.Proc, l.Msg, tt.ok, tt.proc, tt.msg)
		}
		if ok {
			want, _ := time.Parse(time.RFC3339Nano, tt.at)
			if !l.Time.Equal(want) {
				t.Errorf("%s: time got %v, want %v", tt.name, l.Time, want)
			}
		}
	}
	l, _ := parseLogLine([]byte(`{"proc":"had2","from":"N","to":"T","silent":12.5,"time":"2026-12-04T17:21:13Z","message":"state changed"}`))
	if got := l.str("to"); got != "T" {
		t.Errorf("str: got %q, want T", got)
	}
	if got := l.num("silent"); got != 12.5 {
		t.Errorf("num: got %v, want 12.5", got)
	}
}

func TestFirstAndCountLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B-had1.log")
	log := `### testbed 2026-12-04T17:00:00Z: start in B
{"proc":"receiver","time":"2026-12-04T17:00:01Z","message":"late heartbeat"}
{"proc":"receiver","time":"2026-12-04T17:00:02Z","message":"peer silent on every path: OVERTIME"}
{"proc":"had2","to":"T","time":"2026-12-04T17:00:03Z","message":"state changed"}
{"proc":"receiver","time":"2026-12-04T17:00:04Z","message":"late heartbeat"}
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	late := func(l logLine) bool { return l.Msg == "late heartbeat" }
	tests := []struct {
		name  string
		after time.Time
		count int
		first string
		ok    bool
	}{
		{"all", time.Time{}, 2, "2026-12-04T17:00:01Z", true},
		{"strictly after", at("2026-12-04T17:00:01Z"), 1, "2026-12-04T17:00:04Z", true},
		{"none after", at("2026-12-04T17:00:04Z"), 0, "", false},
	}
	for _, tt := range tests {
		n, err := countLog(path, tt.after, late)
		if err != nil || n != tt.count {
			t.Errorf("%s: count got %d, %v; want %d", tt.name, n, err, tt.count)
		}
		l, ok, err := firstLog(path, tt.after, late)
		if err != nil || ok != tt.ok || ok && !l.Time.Equal(at(tt.first)) {
			t.Errorf("%s: first got %v at %v (%v); want %v at %s", tt.name, ok, l.Time, err, tt.ok, tt.first)
		}
	}
	if _, _, err := firstLog(filepath.Join(t.TempDir(), "missing"), time.Time{}, late); err == nil {
		t.Error("missing log: got no error")
	}
}
