package comm

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pty master's descriptor and the path of its slave.
func openPTY(t *testing.T) (int, string) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no ptys here: %v", err)
	}
	t.Cleanup(func() { unix.Close(m) })
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	return m, "/dev/pts/" + strconv.Itoa(n)
}

// Data written at the other end arrives, and Close wakes a Read that
// waits for more.
func TestTTYReadAndCloseWakesRead(t *testing.T) {
	m, slave := openPTY(t)
	p, err := openTTY(slave, 115200, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(m, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	got := ""
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got += string(buf[:n])
	}
	if got != "hello" {
		t.Fatalf("read: got %q, want hello", got)
	}
	if n, err := p.Write([]byte("back")); err != nil || n != 4 {
		t.Fatalf("write: got %d, %v", n, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(buf) // nothing more comes: it waits
		done <- err
	}()
	// It waits in the netpoller, tying up no thread in poll(2). (Were
	// Close first, Read would see it at once: also net.ErrClosed.)
	select {
	case err := <-done:
		t.Fatalf("Read returned %v with nothing to read", err)
	case <-time.After(100 * time.Millisecond):
	}
	if threadInPoll() {
		t.Error("a thread waits in poll(2) for the Read")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after close: got %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a waiting Read")
	}
	if _, err := p.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read on a closed tty: got %v, want net.ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// The other end gone (socat killed) reads as the end of the stream, so
// the link reopens the device.
func TestTTYHangupIsEOF(t *testing.T) {
	m, slave := openPTY(t)
	p, err := openTTY(slave, 115200, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	unix.Close(m)
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 8))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("read after hangup: got no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read after hangup did not return")
	}
}

// threadInPoll reports whether a thread of this process waits in poll(2).
func threadInPoll() bool {
	ents, _ := os.ReadDir("/proc/self/task")
	for _, e := range ents {
		if b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/wchan"); err == nil && strings.Contains(string(b), "poll_schedule_timeout") {
			return true
		}
	}
	return false
}
