package sleeper

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func mono() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func newSleeper(t *testing.T) *Sleeper {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sleepReturns runs s.Sleep(until) and reports whether it returned within
// limit: a bound for a test that must not hang, far above the expected.
func sleepReturns(s *Sleeper, until int64, limit time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.Sleep(until)
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}

func TestSleepUntilDeadline(t *testing.T) {
	s := newSleeper(t)
	for _, d := range []time.Duration{-time.Second, 0, 30 * time.Millisecond} {
		until := mono() + int64(d)
		s.Sleep(until)
		if now := mono(); now < until {
			t.Errorf("Sleep(now%+v) returned %v early", d, time.Duration(until-now))
		}
	}
}

func TestWake(t *testing.T) {
	s := newSleeper(t)
	far := mono() + int64(time.Hour)
	go s.Wake()
	if !sleepReturns(s, far, 10*time.Second) {
		t.Fatal("Wake did not end the Sleep")
	}
	// A Wake before the Sleep ends it too, once.
	s.Wake()
	if !sleepReturns(s, far, 10*time.Second) {
		t.Fatal("a Wake before the Sleep did not end it")
	}
	until := mono() + int64(50*time.Millisecond)
	s.Sleep(until)
	if mono() < until {
		t.Error("the next Sleep returned early: one Wake was counted twice")
	}
}

func TestPostponeMovesASleepInProgress(t *testing.T) {
	s := newSleeper(t)
	done := make(chan struct{})
	go func() {
		s.Sleep(mono() + int64(time.Hour))
		close(done)
	}()
	// The Sleep may not have armed its timer yet: a Postpone before it is
	// overridden, so keep moving the deadline to now until it returns.
	limit := time.After(10 * time.Second)
	for {
		s.Postpone(mono())
		select {
		case <-done:
			return
		case <-limit:
			t.Fatal("Postpone did not move the deadline of the Sleep in progress")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestWatchedPipe(t *testing.T) {
	s := newSleeper(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	rfd := int(r.Fd()) // Fd makes it blocking; the sleeper wants it not to be
	if err := unix.SetNonblock(rfd, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Watch(rfd); err != nil {
		t.Fatal(err)
	}
	far := mono() + int64(time.Hour)
	// More bytes than one read takes: Sleep drains them all.
	if _, err := w.Write(make([]byte, 200)); err != nil {
		t.Fatal(err)
	}
	if !sleepReturns(s, far, 10*time.Second) {
		t.Fatal("a readable pipe did not end the Sleep")
	}
	var buf [1]byte
	if n, err := unix.Read(rfd, buf[:]); n > 0 || err != unix.EAGAIN {
		t.Fatalf("pipe not drained: read %d, %v", n, err)
	}
	until := mono() + int64(50*time.Millisecond)
	s.Sleep(until)
	if mono() < until {
		t.Fatal("Sleep returned early with nothing to read")
	}
}

func TestWakeAfterClose(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Wake() // a context's AfterFunc may run late: no effect, no panic
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWatchBadFD(t *testing.T) {
	s := newSleeper(t)
	if err := s.Watch(-1); err == nil {
		t.Fatal("Watch(-1) succeeded")
	}
}
