package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"
)

// ReadWait bounds how long Read waits for a slot that is being written. It
// is a time, not a retry count: a writer killed mid-write leaves its slot odd
// for ever (libraries.md §2 measured 96 of 200 kills), and a reader must not
// spin on it. A live writer holds the slot odd for well under a microsecond.
const ReadWait = time.Millisecond

var (
	// ErrLayout: the memory does not hold a table of this layout version.
	ErrLayout = errors.New("shm: layout mismatch")
	// ErrStale: the record is older than its writer's promised interval, or
	// could not be read (see ErrTorn). Read returns the record with it when
	// it has one.
	ErrStale = errors.New("shm: stale record")
	// ErrTorn: no consistent snapshot of the slot within ReadWait, because
	// its writer died mid-write (the slot stays odd until the writer's
	// successor writes it) or writes faster than the reader can read. It
	// wraps ErrStale: such a slot reads as stale, never as garbage, and Read
	// returns the zero Record with it.
	ErrTorn = fmt.Errorf("shm: slot mid-write: %w", ErrStale)
	// ErrLocked: another open file description holds the role lock. It
	// cannot name the holder: for OFD locks F_OFD_GETLK and /proc/locks both
	// report pid -1 (checked on kernel 6.18); the role's slot has its PID.
	ErrLocked = errors.New("shm: role locked")
	// ErrNoFile: the table was made by New or Attach and has no file to lock.
	ErrNoFile = errors.New("shm: table has no file")
)

// Header offsets.
const (
	offMagic    = 0
	offVersion  = 8 // u32 version | u32 slot size
	offCount    = 16
	offSize     = 24
	offCreated  = 32
	offEpoch    = 40
	offBells    = 48
	offRoleLock = 128 // byte 128+role is role's lock byte (file_linux.go)
	maxRole     = HeaderSize - offRoleLock - 1
)

// Slot offsets and word counts.
const (
	soSeq      = 0
	soTypeVal  = 8
	soStamp    = 16
	soInterval = 24
	soPID      = 32
	soCounter  = 40
	soData     = 48
	soText     = soData + 8*DataWords
	textWords  = TextSize / 8
)

// Table is a mapped record table. Its methods are safe for concurrent use,
// with one writer per slot (the seqlock's rule).
type Table struct {
	mem   []byte
	file  *os.File // nil when made by New or Attach; see file_linux.go
	path  string
	bells []int // the bells' pipes, nil without a file; see bellpipe_linux.go
}

// pid is cached: os.Getpid is a system call, and Go never forks without exec.
var pid = int32(os.Getpid())

// New initialises a table of SlotCount empty slots in mem, which must be
// FileSize bytes, 8-byte aligned and not yet shared: New zeroes all of it and
// stores the magic last, so a concurrent Attach sees no table or a whole one.
func New(mem []byte, epoch uint64) (*Table, error) {
	if err := checkMem(mem); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	clear(mem)
	t := &Table{mem: mem}
	atomic.StoreUint64(t.word(offVersion), uint64(Version)|uint64(SlotSize)<<32)
	atomic.StoreUint64(t.word(offCount), SlotCount)
	atomic.StoreUint64(t.word(offSize), FileSize)
	atomic.StoreUint64(t.word(offCreated), uint64(Now()))
	atomic.StoreUint64(t.word(offEpoch), epoch)
	atomic.StoreUint64(t.word(offMagic), Magic)
	return t, nil
}

// Attach checks the header in mem and returns a table over it, or an error
// wrapping ErrLayout that says which field differs.
func Attach(mem []byte) (*Table, error) {
	if err := checkMem(mem); err != nil {
		return nil, fmt.Errorf("attach table: %w", err)
	}
	t := &Table{mem: mem}
	vs := atomic.LoadUint64(t.word(offVersion))
	for _, c := range []struct {
		what      string
		got, want uint64
	}{
		{"magic", atomic.LoadUint64(t.word(offMagic)), Magic},
		{"version", vs & 0xffffffff, uint64(Version)},
		{"slot size", vs >> 32, SlotSize},
		{"slot count", atomic.LoadUint64(t.word(offCount)) & 0xffffffff, SlotCount},
		{"file size", atomic.LoadUint64(t.word(offSize)), FileSize},
	} {
		if c.got != c.want {
			return nil, fmt.Errorf("attach table: %s %#x, want %#x: %w", c.what, c.got, c.want, ErrLayout)
		}
	}
	return t, nil
}

func checkMem(mem []byte) error {
	switch {
	case len(mem) != FileSize:
		return fmt.Errorf("%d bytes, want %d: %w", len(mem), FileSize, ErrLayout)
	case uintptr(unsafe.Pointer(&mem[0]))%8 != 0:
		return fmt.Errorf("memory not 8-byte aligned: %w", ErrLayout)
	case binary.NativeEndian.Uint16([]byte{1, 0}) != 1:
		// Words are stored in native order; the layout is little-endian.
		return fmt.Errorf("big-endian host: %w", ErrLayout)
	}
	return nil
}

func (t *Table) word(off int) *uint64 { return (*uint64)(unsafe.Pointer(&t.mem[off])) }

// Epoch is the node's boot epoch the table was created with.
func (t *Table) Epoch() uint64 { return atomic.LoadUint64(t.word(offEpoch)) }

// Created is when the table was created, in Now's clock.
func (t *Table) Created() int64 { return int64(atomic.LoadUint64(t.word(offCreated))) }

// SlotCount is the number of slots.
func (t *Table) SlotCount() int { return int(atomic.LoadUint64(t.word(offCount)) & 0xffffffff) }

func (t *Table) slot(i int) int {
	if i < 0 || i >= SlotCount {
		panic(fmt.Sprintf("shm: slot %d out of range [0,%d)", i, SlotCount))
	}
	return HeaderSize + i*SlotSize
}

// Write stores r in the slot: the seed's write-shm(). Only the slot's one
// writer may call it. It sets r.Stamp to Now(), and r.PID to this process's
// PID when zero; r.Text is cut to TextSize bytes at a rune boundary. It
// panics on a slot out of range, a programming error.
func (t *Table) Write(slot int, r Record) {
	off := t.slot(slot)
	r.Stamp = Now()
	if r.PID == 0 {
		r.PID = pid
	}
	seq := t.word(off + soSeq)
	// |1 makes the slot odd whatever it was: it also repairs a slot a killed
	// writer left odd, as the +1 below then makes it even again.
	v := atomic.LoadUint64(seq) | 1
	atomic.StoreUint64(seq, v)
	atomic.StoreUint64(t.word(off+soTypeVal), uint64(r.Type)|uint64(r.Value)<<32)
	atomic.StoreUint64(t.word(off+soStamp), uint64(r.Stamp))
	atomic.StoreUint64(t.word(off+soInterval), uint64(r.Interval))
	atomic.StoreUint64(t.word(off+soPID), uint64(uint32(r.PID)))
	atomic.StoreUint64(t.word(off+soCounter), r.Counter)
	for i, d := range r.Data {
		atomic.StoreUint64(t.word(off+soData+8*i), d)
	}
	var text [TextSize]byte // NUL-padded
	copy(text[:], cutText(r.Text))
	for i := range textWords {
		atomic.StoreUint64(t.word(off+soText+8*i), binary.LittleEndian.Uint64(text[8*i:]))
	}
	atomic.StoreUint64(seq, v+1)
}

// cutText cuts s to at most TextSize bytes without splitting a rune.
func cutText(s string) string {
	if len(s) <= TextSize {
		return s
	}
	n := TextSize
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Read returns the slot's record: the seed's read-shm(). It never blocks
// longer than about ReadWait. Errors:
//   - ErrTorn (which is also ErrStale), with the zero Record: no consistent
//     snapshot within ReadWait.
//   - ErrStale, with the record: Interval > 0 and the record is older than it.
//
// It panics on a slot out of range, a programming error.
func (t *Table) Read(slot int) (Record, error) {
	off := t.slot(slot)
	seq := t.word(off + soSeq)
	var w [SlotSize/8 - 1]uint64
	var start int64
	for {
		s1 := atomic.LoadUint64(seq)
		if s1&1 == 0 {
			for i := range w {
				w[i] = atomic.LoadUint64(t.word(off + 8 + 8*i))
			}
			if atomic.LoadUint64(seq) == s1 {
				break
			}
		}
		// The clock starts at the first miss, keeping it off the fast path.
		if start == 0 {
			start = Now()
		} else if Now()-start > int64(ReadWait) {
			return Record{}, ErrTorn
		}
		runtime.Gosched() // time.Sleep's floor is ~1 ms (libraries.md §2)
	}
	r := decode(&w)
	if r.Interval > 0 && stale(r, Now()) {
		return r, ErrStale
	}
	return r, nil
}

// decode turns the slot's words after seq into a Record.
func decode(w *[SlotSize/8 - 1]uint64) Record {
	const base = 8 // w[0] is the word at slot offset 8
	r := Record{
		Type:     Type(uint32(w[(soTypeVal-base)/8])),
		Value:    Value(w[(soTypeVal-base)/8] >> 32),
		Stamp:    int64(w[(soStamp-base)/8]),
		Interval: int64(w[(soInterval-base)/8]),
		PID:      int32(uint32(w[(soPID-base)/8])),
		Counter:  w[(soCounter-base)/8],
	}
	copy(r.Data[:], w[(soData-base)/8:])
	var text [TextSize]byte
	for i := range textWords {
		binary.LittleEndian.PutUint64(text[8*i:], w[(soText-base)/8+i])
	}
	n := 0
	for n < TextSize && text[n] != 0 {
		n++
	}
	r.Text = string(text[:n])
	return r
}

// stale reports whether r has outlived its writer's promised interval.
func stale(r Record, now int64) bool {
	return r.Interval > 0 && now-r.Stamp > r.Interval
}

// Bell names a doorbell: a futex word in the header that a writer bumps to
// wake a process waiting for news, so that it need not poll.
type Bell int

// Doorbells. Append only; at most (offRoleLock-offBells)/4 of them.
const (
	BellHad2   Bell = 0 // wakes had2: a slot it reads has changed
	BellSender Bell = 1 // wakes the sender: SlotSend has changed
	BellAdmin  Bell = 2 // wakes the admin server: had2 wrote an event
)

func (t *Table) bell(b Bell) *uint32 {
	if b < BellHad2 || b > BellAdmin {
		panic(fmt.Sprintf("shm: bell %d out of range", b))
	}
	return (*uint32)(unsafe.Pointer(&t.mem[offBells+4*int(b)]))
}

// Ring bumps the bell and wakes every process waiting on it: in Wait, or
// watching its pipe (BellFD).
func (t *Table) Ring(b Bell) {
	w := t.bell(b)
	atomic.AddUint32(w, 1)
	futexWakeAll(w)
	t.ringPipe(b)
}

// BellValue is the bell's current count; pass it to Wait as seen.
func (t *Table) BellValue(b Bell) uint32 { return atomic.LoadUint32(t.bell(b)) }

// Wait blocks until the bell's count differs from seen, or timeout passes.
// It returns at once if the count already differs. It may also return early
// (a signal, a spurious wake), so callers loop: read BellValue, check their
// slots, Wait with that value. It never blocks longer than timeout.
func (t *Table) Wait(b Bell, seen uint32, timeout time.Duration) {
	if timeout <= 0 {
		return
	}
	futexWaitOn(t.bell(b), seen, timeout)
}

// Clock: CLOCK_MONOTONIC, read once with the system call, then advanced by
// Go's monotonic clock, which is CLOCK_MONOTONIC too. unix.ClockGettime is a
// real system call here (216 ns); time.Since is vDSO (24 ns).
var mono0, t0 = monoStart()

// Now is CLOCK_MONOTONIC in nanoseconds: the same clock in every process of
// the machine, so stamps written by one process can be aged by another.
func Now() int64 { return mono0 + int64(time.Since(t0)) }
