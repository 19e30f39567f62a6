package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// newMem returns FileSize zero bytes, 8-byte aligned.
func newMem() []byte {
	w := make([]uint64, FileSize/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), FileSize)
}

func newTable(t testing.TB) *Table {
	t.Helper()
	tb, err := New(newMem(), 42)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tb
}

// fill makes a record in which every field but PID (the writer's) is
// derived from v, so a reader can tell a torn record from a whole one
// (consistent).
func fill(v uint64) Record {
	r := Record{
		Type:     Type(v),
		Value:    Value(v >> 1),
		Interval: 1<<62 + int64(v), // never stale by age
		Counter:  v,
		Text:     strings.Repeat(fmt.Sprintf("%016x", v), TextSize/16),
	}
	for i := range r.Data {
		r.Data[i] = v * uint64(i+1)
	}
	return r
}

func consistent(r Record) bool {
	want := fill(r.Counter)
	want.Stamp, want.PID = r.Stamp, r.PID
	return r == want
}

func TestWriteReadRoundTrip(t *testing.T) {
	long := strings.Repeat("a", 200)
	// 111 ASCII bytes then a 2-byte rune: the rune would straddle byte 112.
	straddle := strings.Repeat("b", TextSize-1) + "é"
	fits := strings.Repeat("c", TextSize-2) + "é"
	tests := []struct {
		name     string
		in       Record
		wantText string
		wantPID  int32
	}{
		{"empty", Record{}, "", pid},
		{"fields", Record{Type: TypeAgent, Value: Warning, Interval: int64(time.Hour), PID: 7, Counter: 9,
			Data: [DataWords]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ^uint64(0)}, Text: "disk 91% full"}, "disk 91% full", 7},
		{"negative pid", Record{PID: -5}, "", -5},
		{"long text cut", Record{Text: long}, long[:TextSize], pid},
		{"rune not split", Record{Text: straddle}, straddle[:TextSize-1], pid},
		{"rune fits", Record{Text: fits}, fits, pid},
		{"exact size", Record{Text: long[:TextSize]}, long[:TextSize], pid},
		{"utf8", Record{Text: "größe ✓"}, "größe ✓", pid},
	}
	tb := newTable(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := Now()
			tb.Write(SlotAgent0+i, tc.in)
			got, err := tb.Read(SlotAgent0 + i)
			if err != nil {
				t.Fatalf("Read: got error %v, want nil", err)
			}
			if got.Stamp < before || got.Stamp > Now() {
				t.Errorf("Stamp: got %d, want in [%d, now]", got.Stamp, before)
			}
			want := tc.in
			want.Stamp, want.Text, want.PID = got.Stamp, tc.wantText, tc.wantPID
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestReadNeverWritten(t *testing.T) {
	tb := newTable(t)
	got, err := tb.Read(SlotCount - 1)
	if err != nil || got != (Record{}) {
		t.Fatalf("got %+v, %v; want zero record, nil", got, err)
	}
}

func TestNewHeader(t *testing.T) {
	before := Now()
	tb, err := New(newMem(), 77)
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.Epoch(); got != 77 {
		t.Errorf("Epoch: got %d, want 77", got)
	}
	if got := tb.SlotCount(); got != SlotCount {
		t.Errorf("SlotCount: got %d, want %d", got, SlotCount)
	}
	if got := tb.Created(); got < before || got > Now() {
		t.Errorf("Created: got %d, want in [%d, now]", got, before)
	}
	if got := binary.LittleEndian.Uint64(tb.mem); got != Magic || string(tb.mem[:8]) != "HADSHM01" {
		t.Errorf("magic: got %#x %q, want %#x", got, tb.mem[:8], Magic)
	}
	if _, err := New(make([]byte, FileSize-1), 1); !errors.Is(err, ErrLayout) {
		t.Errorf("New of short memory: got %v, want ErrLayout", err)
	}
	w := make([]uint64, FileSize/8+1)
	odd := unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), FileSize+8)[1 : FileSize+1]
	if _, err := New(odd, 1); !errors.Is(err, ErrLayout) {
		t.Errorf("New of misaligned memory: got %v, want ErrLayout", err)
	}
}

func TestAttach(t *testing.T) {
	tests := []struct {
		name  string
		patch func(mem []byte)
		ok    bool
	}{
		{"good", func([]byte) {}, true},
		{"bad magic", func(m []byte) { m[0] = 'X' }, false},
		{"no magic", func(m []byte) { clear(m[:8]) }, false},
		{"bad version", func(m []byte) { binary.LittleEndian.PutUint32(m[8:], Version+1) }, false},
		{"bad slot size", func(m []byte) { binary.LittleEndian.PutUint32(m[12:], 128) }, false},
		{"bad slot count", func(m []byte) { binary.LittleEndian.PutUint32(m[16:], SlotCount+1) }, false},
		{"bad file size", func(m []byte) { binary.LittleEndian.PutUint64(m[24:], FileSize*2) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := newMem()
			if _, err := New(mem, 5); err != nil {
				t.Fatal(err)
			}
			tc.patch(mem)
			tb, err := Attach(mem)
			if tc.ok {
				if err != nil || tb.Epoch() != 5 {
					t.Fatalf("got %v, want a table of epoch 5", err)
				}
				return
			}
			if !errors.Is(err, ErrLayout) {
				t.Fatalf("got %v, want ErrLayout", err)
			}
		})
	}
	if _, err := Attach(make([]byte, 100)); !errors.Is(err, ErrLayout) {
		t.Errorf("Attach of 100 bytes: got %v, want ErrLayout", err)
	}
}

// TestOddSlotReadsStale simulates a writer killed mid-write.
func TestOddSlotReadsStale(t *testing.T) {
	tb := newTable(t)
	tb.Write(SlotHad2, fill(3))
	seq := tb.word(tb.slot(SlotHad2))
	atomic.StoreUint64(seq, atomic.LoadUint64(seq)|1)

	start := time.Now()
	got, err := tb.Read(SlotHad2)
	took := time.Since(start)
	if !errors.Is(err, ErrStale) || !errors.Is(err, ErrTorn) {
		t.Errorf("Read of odd slot: got error %v, want ErrTorn and ErrStale", err)
	}
	if got != (Record{}) {
		t.Errorf("Read of odd slot: got %+v, want zero record", got)
	}
	if took < ReadWait || took > 100*time.Millisecond {
		t.Errorf("Read of odd slot took %v, want in [%v, 100ms]", took, ReadWait)
	}

	tb.Write(SlotHad2, fill(4)) // the restarted writer repairs its slot
	if s := atomic.LoadUint64(seq); s&1 != 0 {
		t.Errorf("seq after repair: got %d, want even", s)
	}
	if got, err := tb.Read(SlotHad2); err != nil || !consistent(got) || got.Counter != 4 {
		t.Errorf("Read after repair: got %+v, %v; want record 4, nil", got, err)
	}
}

func TestStale(t *testing.T) {
	tests := []struct {
		interval, age int64
		want          bool
	}{
		{0, 1 << 40, false},
		{100, 0, false},
		{100, 100, false},
		{100, 101, true},
		{100, -5, false}, // stamp from the future: not stale
	}
	for _, tc := range tests {
		got := stale(Record{Stamp: 1000, Interval: tc.interval}, 1000+tc.age)
		if got != tc.want {
			t.Errorf("stale(interval %d, age %d): got %v, want %v", tc.interval, tc.age, got, tc.want)
		}
	}
}

func TestReadStaleByAge(t *testing.T) {
	tb := newTable(t)
	in := Record{Type: TypeDaemon, Interval: int64(2 * time.Millisecond), Counter: 8, Text: "alive"}
	tb.Write(SlotSender, in)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := tb.Read(SlotSender)
		if errors.Is(err, ErrStale) {
			if errors.Is(err, ErrTorn) {
				t.Fatalf("got ErrTorn, want only ErrStale")
			}
			if got.Counter != 8 || got.Text != "alive" {
				t.Fatalf("stale record: got %+v, want the record written", got)
			}
			if age := Now() - got.Stamp; age <= in.Interval {
				t.Fatalf("stale after %d ns, want > %d", age, in.Interval)
			}
			return
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("record never went stale")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentNeverTorn(t *testing.T) {
	tb := newTable(t)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := uint64(1); !stop.Load(); v++ {
			tb.Write(SlotHad1, fill(v))
		}
	}()
	var ok, torn int
	seen := map[uint64]bool{}
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
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
	stop.Store(true)
	wg.Wait()
	if len(seen) < 2 {
		t.Errorf("reader saw %d distinct records, want the writer's progress", len(seen))
	}
	t.Logf("%d whole reads (%d distinct), %d ErrTorn", ok, len(seen), torn)
}

func TestNowIsClockMonotonic(t *testing.T) {
	for range 100 {
		var ts unix.Timespec
		a := Now()
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			t.Fatal(err)
		}
		b := Now()
		if c := ts.Nano(); c < a-int64(time.Millisecond) || c > b+int64(time.Millisecond) {
			t.Fatalf("CLOCK_MONOTONIC %d outside Now() [%d, %d] ± 1 ms", c, a, b)
		}
	}
}

func TestSlotOutOfRangePanics(t *testing.T) {
	for _, slot := range []int{-1, SlotCount} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Read(%d): got no panic, want one", slot)
				}
			}()
			newTable(t).Read(slot)
		}()
	}
}
