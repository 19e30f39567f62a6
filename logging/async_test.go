package logging

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// gate is a writer that blocks until opened, like a log file whose inode
// lock another process holds.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gate) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

func TestAsyncNeverBlocks(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	a := NewAsync(g, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 { // more than the queue holds, with the writer stuck
			a.Write([]byte(strings.Repeat("x", i) + "\n"))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked behind a stuck writer")
	}
	if a.Flush(10 * time.Millisecond) {
		t.Error("Flush reported done while the writer is stuck")
	}
	close(g.open)
	if !a.Flush(10 * time.Second) {
		t.Fatal("Flush timed out after the writer came back")
	}
	// Every line is either written, in order, or counted as dropped; at
	// most the queue and the one in the writer's hands were kept.
	var kept []string
	dropped := 0
	for _, l := range strings.Split(strings.TrimSuffix(g.String(), "\n"), "\n") {
		var n int
		if _, err := fmt.Sscanf(l, `{"level":"warn","message":"%d log lines dropped`, &n); err == nil {
			dropped += n
			continue
		}
		kept = append(kept, l)
	}
	for i := 1; i < len(kept); i++ {
		if len(kept[i]) <= len(kept[i-1]) {
			t.Errorf("lines out of order: %q after %q", kept[i], kept[i-1])
		}
	}
	if len(kept)+dropped != 10 || len(kept) > 5 || dropped == 0 {
		t.Errorf("got %d lines written and %d dropped, want 10 in all, at most 5 written: %q", len(kept), dropped, g.String())
	}
}

func TestAsyncCopiesTheLine(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	a := NewAsync(w, AsyncQueue)
	buf := []byte("first\n")
	a.Write(buf)
	copy(buf, "XXXXX\n") // zerolog reuses its buffer once Write returns
	a.Write([]byte("second\n"))
	if !a.Flush(10 * time.Second) {
		t.Fatal("Flush timed out")
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := out.String(), "first\nsecond\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
