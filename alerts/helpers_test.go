package alerts

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fake is a channel that records what it is given. With hang set it
// waits for its context instead of delivering; delay makes each delivery
// take that long.
type fake struct {
	nm    string
	hang  bool
	delay time.Duration
	fail  error

	mu  sync.Mutex
	got []alert
}

func (f *fake) name() string { return f.nm }

func (f *fake) deliver(ctx context.Context, a alert) error {
	if f.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.fail != nil {
		return f.fail
	}
	f.mu.Lock()
	f.got = append(f.got, a)
	f.mu.Unlock()
	return nil
}

func (f *fake) alerts() []alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]alert(nil), f.got...)
}

// syncBuffer is a log sink safe for the lanes' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(w *syncBuffer) zerolog.Logger { return zerolog.New(w).Level(zerolog.InfoLevel) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// liveInGroup lists the processes of process group pgid that are not
// zombies (PID 1 here does not reap orphans, so a killed grandchild may
// stay a zombie: it is dead all the same).
func liveInGroup(pgid int) []int {
	var live []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so
		// split after its closing parenthesis.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			live = append(live, pid)
		}
	}
	return live
}

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func ev(level, kind, text string) Event {
	return Event{Time: t0, Node: "alpha", Level: level, Kind: kind, Text: text}
}
