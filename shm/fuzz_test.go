package shm

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzReadSlot: any bytes in a slot (written by a foreign or broken
// writer) decode without panic, and what decodes re-encodes to itself.
func FuzzReadSlot(f *testing.F) {
	f.Add(make([]byte, SlotSize-8))                                   // empty
	f.Add(append(make([]byte, soText-8), []byte("hello\x00junk")...)) // text stops at NUL
	full := make([]byte, SlotSize-8)
	for i := range full {
		full[i] = 0xff // all ones: pid -1, interval -1, invalid UTF-8 text
	}
	f.Add(full)
	f.Fuzz(func(t *testing.T, body []byte) {
		tb := newTable(t)
		off := tb.slot(SlotHad2)
		copy(tb.mem[off+8:off+SlotSize], body)
		r, err := tb.Read(SlotHad2)
		if err != nil && !errors.Is(err, ErrStale) || errors.Is(err, ErrTorn) {
			t.Fatalf("Read: got %v, want nil or age ErrStale", err)
		}
		tb.Write(SlotHad1, r)
		got, _ := tb.Read(SlotHad1)
		want := r
		want.Stamp = got.Stamp
		if r.PID == 0 {
			want.PID = pid
		}
		if got != want {
			t.Fatalf("re-encoded: got %+v, want %+v", got, want)
		}
	})
}

// FuzzAttach: any header is accepted or refused with ErrLayout, never a panic.
func FuzzAttach(f *testing.F) {
	good := newMem()
	if _, err := New(good, 1); err != nil {
		f.Fatal(err)
	}
	f.Add(good[:HeaderSize])
	f.Add(make([]byte, HeaderSize))
	f.Fuzz(func(t *testing.T, hdr []byte) {
		mem := newMem()
		copy(mem, hdr)
		tb, err := Attach(mem)
		if err != nil {
			if !errors.Is(err, ErrLayout) {
				t.Fatalf("got %v, want ErrLayout", err)
			}
			return
		}
		if binary.LittleEndian.Uint64(mem) != Magic || tb.SlotCount() != SlotCount {
			t.Fatalf("accepted a header with magic %#x, count %d", binary.LittleEndian.Uint64(mem), tb.SlotCount())
		}
	})
}
