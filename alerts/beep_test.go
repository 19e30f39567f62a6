package alerts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBeep: the bell goes to the first device that opens; here a FIFO
// the test reads stands in for the console.
func TestBeep(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "console")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := &beep{devices: []string{filepath.Join(dir, "missing"), fifo}}
	if err := b.deliver(context.Background(), alert{Event: ev("error", "x", "y")}); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	r.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 8)
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "\a" {
		t.Errorf("read %q, %v; want BEL", buf[:n], err)
	}
}

// TestBeepNoTerminal: with no device, New logs it once, and each beep
// fails with errNoTerminal.
func TestBeepNoTerminal(t *testing.T) {
	saved := beepDevices
	t.Cleanup(func() { beepDevices = saved })
	beepDevices = []string{filepath.Join(t.TempDir(), "none")}
	var logs syncBuffer
	b := newBeep(testLogger(&logs))
	if !strings.Contains(logs.String(), `"message":"beep has no terminal"`) {
		t.Errorf("got log %q, want 'beep has no terminal'", logs.String())
	}
	if err := b.deliver(context.Background(), alert{}); !errors.Is(err, errNoTerminal) {
		t.Errorf("got %v, want errNoTerminal", err)
	}
}
