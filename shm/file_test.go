package shm

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCreateOpen(t *testing.T) {
	path := tablePath(t)
	a, err := Create(path, 9)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer a.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != FileSize || st.Mode().Perm() != 0o600 {
		t.Errorf("file: got size %d mode %v, want %d -rw-------", st.Size(), st.Mode().Perm(), FileSize)
	}
	b, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	if b.Epoch() != 9 || b.Created() != a.Created() || b.Path() != path {
		t.Errorf("opened header: got epoch %d created %d path %q, want 9 %d %q", b.Epoch(), b.Created(), b.Path(), a.Created(), path)
	}
	a.Write(SlotPeer, Record{Type: TypePeer, Value: Takeover, Text: "hello"})
	if got, err := b.Read(SlotPeer); err != nil || got.Value != Takeover || got.Text != "hello" {
		t.Errorf("Read through the other mapping: got %+v, %v; want TAKEOVER hello", got, err)
	}

	// Create over a live table makes a new inode: the old mappings stay
	// valid (no SIGBUS) and keep their content.
	c, err := Create(path, 10)
	if err != nil {
		t.Fatalf("Create over an existing table: %v", err)
	}
	defer c.Close()
	if got, err := b.Read(SlotPeer); err != nil || got.Text != "hello" {
		t.Errorf("old mapping after re-Create: got %+v, %v; want hello", got, err)
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, err := d.Read(SlotPeer); err != nil || got != (Record{}) || d.Epoch() != 10 {
		t.Errorf("new table: got %+v, %v, epoch %d; want empty, epoch 10", got, err, d.Epoch())
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name string
		make func(path string) error
	}{
		{"short file", func(p string) error { return os.WriteFile(p, make([]byte, 100), 0o600) }},
		{"long file", func(p string) error { return os.WriteFile(p, make([]byte, FileSize+4096), 0o600) }},
		{"zero header", func(p string) error { return os.WriteFile(p, make([]byte, FileSize), 0o600) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tablePath(t)
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			if tb, err := Open(path); !errors.Is(err, ErrLayout) {
				if tb != nil {
					tb.Close()
				}
				t.Fatalf("got %v, want ErrLayout", err)
			}
		})
	}
	if _, err := Open(tablePath(t)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing file: got %v, want ErrNotExist", err)
	}
}

// TestCrossProcessNeverTorn: a child writes in a tight loop; the parent
// never reads a torn record. Then children are SIGKILLed mid-loop, many
// times: the slot reads whole or as ErrTorn, never as garbage, within a
// bounded time, and the next writer repairs it.
func TestCrossProcessNeverTorn(t *testing.T) {
	tb := createTable(t)
	w := startHelper(t, "writer", tb.Path(), "")
	var ok, torn int
	seen := map[uint64]bool{}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		got, err := tb.Read(SlotHad1)
		switch {
		case errors.Is(err, ErrTorn):
			torn++
		case err != nil:
			t.Fatalf("Read: %v", err)
		case got == (Record{}):
		case !consistent(got):
			t.Fatalf("torn record read as whole: %+v", got)
		default:
			ok++
			seen[got.Counter] = true
		}
	}
	w.kill()
	if len(seen) < 2 {
		t.Fatalf("saw %d distinct records, want the writer's progress", len(seen))
	}
	t.Logf("live writer: %d whole reads (%d distinct), %d ErrTorn", ok, len(seen), torn)

	const kills = 30
	odd := 0
	for i := range kills {
		w := startHelper(t, "writer", tb.Path(), "")
		// Wait until this writer has written twice (and so repaired the slot).
		var first uint64
		for deadline := time.Now().Add(10 * time.Second); ; {
			if got, err := tb.Read(SlotHad1); err == nil && consistent(got) && got.PID == int32(w.cmd.Process.Pid) {
				if first != 0 && got.Counter > first {
					break
				}
				first = got.Counter
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: writer made no progress", i)
			}
		}
		w.kill()
		start := time.Now()
		got, err := tb.Read(SlotHad1)
		if took := time.Since(start); took > 100*time.Millisecond {
			t.Errorf("kill %d: Read took %v, want ≤ 100ms", i, took)
		}
		switch {
		case errors.Is(err, ErrTorn) && got == (Record{}):
			odd++
		case err == nil && consistent(got):
		default:
			t.Fatalf("kill %d: got %+v, %v; want a whole record or ErrTorn", i, got, err)
		}
	}
	t.Logf("SIGKILL left the slot odd in %d of %d kills", odd, kills)
	tb.Write(SlotHad1, fill(5))
	if got, err := tb.Read(SlotHad1); err != nil || got.Counter != 5 {
		t.Errorf("after repair: got %+v, %v; want record 5", got, err)
	}
}

func TestLock(t *testing.T) {
	path := tablePath(t)
	a, err := Create(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path) // a second open file description in this process
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	relA, err := a.Lock(1)
	if err != nil {
		t.Fatalf("a.Lock(1): %v", err)
	}
	if _, err := b.Lock(1); !errors.Is(err, ErrLocked) {
		t.Errorf("b.Lock(1) while a holds it: got %v, want ErrLocked", err)
	}
	if _, err := a.Lock(1); err != nil {
		t.Errorf("a.Lock(1) again (same OFD): got %v, want nil", err)
	}
	relB2, err := b.Lock(2)
	if err != nil {
		t.Errorf("b.Lock(2): got %v, want nil (other role)", err)
	}
	relA()
	relA() // twice is harmless
	relB1, err := b.Lock(1)
	if err != nil {
		t.Errorf("b.Lock(1) after release: got %v, want nil", err)
	}
	relB1()
	relB2()

	for _, role := range []int{-1, maxRole + 1} {
		if _, err := a.Lock(role); err == nil {
			t.Errorf("Lock(%d): got nil, want an error", role)
		}
	}
	if _, err := newTable(t).Lock(0); !errors.Is(err, ErrNoFile) {
		t.Errorf("Lock on a table without file: got %v, want ErrNoFile", err)
	}
}

func TestLockWait(t *testing.T) {
	a := createTable(t)
	b, err := Open(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	relA, err := a.Lock(SlotAdmin)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		rel, err := b.LockWait(SlotAdmin)
		if err == nil {
			rel()
		}
		got <- err
	}()
	waitInSyscall(t, os.Getpid(), unix.SYS_FCNTL, b.file.Fd(), unix.F_OFD_SETLKW)
	select {
	case err := <-got:
		t.Fatalf("LockWait returned %v while the lock was held", err)
	default:
	}
	relA()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("LockWait: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LockWait did not return after release")
	}
}

// TestLockReleasedOnDeath: a child holds a role lock and is SIGKILLed; the
// kernel drops its lock, for Lock and for a waiting LockWait.
func TestLockReleasedOnDeath(t *testing.T) {
	tb := createTable(t)
	const role = 3

	h := startHelper(t, "lock", tb.Path(), "3")
	if s := h.line(t); s != "locked" {
		t.Fatalf("helper said %q, want locked", s)
	}
	if _, err := tb.Lock(role); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock while the child holds it: got %v, want ErrLocked", err)
	}
	h.kill()
	rel, err := tb.Lock(role)
	if err != nil {
		t.Fatalf("Lock after the holder died: got %v, want nil", err)
	}
	rel()

	h = startHelper(t, "lock", tb.Path(), "3")
	if s := h.line(t); s != "locked" {
		t.Fatalf("helper said %q, want locked", s)
	}
	got := make(chan error, 1)
	go func() {
		rel, err := tb.LockWait(role)
		if err == nil {
			rel()
		}
		got <- err
	}()
	waitInSyscall(t, os.Getpid(), unix.SYS_FCNTL, tb.file.Fd(), unix.F_OFD_SETLKW)
	h.kill()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("LockWait: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LockWait did not return after the holder died")
	}
}
