package shm

import (
	"os"
	"strconv"
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
			tb.Wait(b, seen, 10*time.Second)
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
