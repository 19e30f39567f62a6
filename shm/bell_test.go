package shm

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestRingWakesWaiter(t *testing.T) {
	tb := newTable(t)
	for _, b := range []Bell{BellHad2, BellSender} {
		seen := tb.BellValue(b)
		done := make(chan time.Duration, 1)
		go func() {
			start := time.Now()
			awaitRing(tb, b, seen, 10*time.Second)
			done <- time.Since(start)
		}()
		waitInSyscall(t, os.Getpid(), unix.SYS_FUTEX, uintptr(unsafe.Pointer(tb.bell(b))), futexWait)
		tb.Ring(b)
		select {
		case took := <-done:
			if took >= 10*time.Second {
				t.Errorf("bell %d: Wait timed out instead of waking", b)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("bell %d: Wait never returned", b)
		}
		if got := tb.BellValue(b); got != seen+1 {
			t.Errorf("bell %d: got value %d, want %d", b, got, seen+1)
		}
	}
}

// awaitRing waits until bell b differs from seen or limit passes, looping
// over Wait the way its callers must: a signal such as the runtime's
// preemption SIGURG, sent just as the goroutine entered the system call,
// ends a futex wait early (seen under stress-ng, 2 runs in 200).
func awaitRing(tb *Table, b Bell, seen uint32, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for tb.BellValue(b) == seen {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		tb.Wait(b, seen, left)
	}
}

func TestWaitReturns(t *testing.T) {
	tb := newTable(t)
	tb.Ring(BellHad2) // no waiter: just counts
	seen := tb.BellValue(BellHad2)
	if seen != 1 || tb.BellValue(BellSender) != 0 {
		t.Fatalf("bells after one Ring: got %d, %d; want 1, 0", seen, tb.BellValue(BellSender))
	}
	tests := []struct {
		name         string
		seen         uint32
		timeout      time.Duration
		least, under time.Duration
	}{
		{"value differs", seen - 1, 10 * time.Second, 0, time.Second},
		{"zero timeout", seen, 0, 0, time.Second},
		{"negative timeout", seen, -time.Second, 0, time.Second},
		{"times out", seen, 30 * time.Millisecond, 30 * time.Millisecond, time.Second},
	}
	for _, tc := range tests {
		start := time.Now()
		tb.Wait(BellHad2, tc.seen, tc.timeout)
		if took := time.Since(start); took < tc.least || took >= tc.under {
			t.Errorf("%s: Wait took %v, want in [%v, %v)", tc.name, took, tc.least, tc.under)
		}
	}
}

// TestRingWakesOtherProcess: the bells are shared futexes, not private ones.
func TestRingWakesOtherProcess(t *testing.T) {
	tb := createTable(t)
	seen := tb.BellValue(BellHad2)
	h := startHelper(t, "wait", tb.Path(), strconv.FormatUint(uint64(seen), 10))
	addr, err := strconv.ParseUint(h.line(t), 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	waitInSyscall(t, h.cmd.Process.Pid, unix.SYS_FUTEX, uintptr(addr), futexWait)
	start := time.Now()
	tb.Ring(BellHad2)
	if s := h.line(t); s != "woke" {
		t.Fatalf("waiter said %q, want woke", s)
	}
	t.Logf("Ring to the other process's output: %v", time.Since(start))
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("waiter: got %v, want exit 0 (woken by the Ring)", err)
	}
}

// TestBellPipe: a Ring through one opening of a table wakes a sleeper
// watching the bell's pipe through another, the way had2's loop is woken.
func TestBellPipe(t *testing.T) {
	a := createTable(t)
	b, err := Open(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := a.BellSleeper(BellSender)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fd, _ := a.bellFD(BellSender)
	for range 3 { // rings while nobody sleeps are drained by the next Sleep
		b.Ring(BellSender)
	}
	done := make(chan struct{})
	go func() {
		s.Sleep(Now() + int64(time.Hour))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.Wake()
		<-done
		t.Fatal("a Ring did not end the sleep")
	}
	if n, err := unix.Read(fd, make([]byte, 1)); n > 0 || err != unix.EAGAIN {
		t.Errorf("bell pipe not drained: read %d, %v", n, err)
	}
	// Another bell's ring is not this one's.
	b.Ring(BellHad2)
	until := Now() + int64(50*time.Millisecond)
	s.Sleep(until)
	if Now() < until {
		t.Error("a ring of had2's bell woke the sender's sleeper")
	}
}

func TestBellPipeFiles(t *testing.T) {
	path := tablePath(t)
	tb, err := Create(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []Bell{BellHad2, BellSender, BellAdmin} {
		st, err := os.Stat(BellPath(path, b))
		if err != nil || st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != 0o600 {
			t.Errorf("bell %d: %v, mode %v: want a named pipe, -rw-------", b, err, st.Mode())
		}
	}
	tb.Close()
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(path + "*"); len(m) != 0 {
		t.Errorf("Remove left %v", m)
	}
	if err := Remove(path); err != nil {
		t.Errorf("Remove of nothing: %v", err)
	}
	// A table without a file has no pipes to watch.
	mem := newTable(t)
	if _, err := mem.BellSleeper(BellHad2); err == nil {
		t.Error("BellSleeper of a table without a file succeeded")
	}
	mem.Ring(BellHad2) // the futex only
}

// TestOpenRefusesBellNotPipe: something else at a bell's path is an
// error naming it, and nothing is left open.
func TestOpenRefusesBellNotPipe(t *testing.T) {
	path := tablePath(t)
	tb, err := Create(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	tb.Close()
	bad := BellPath(path, BellAdmin)
	os.Remove(bad)
	if err := os.WriteFile(bad, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Open: got %v, want an error naming %s", err, bad)
	}
}
