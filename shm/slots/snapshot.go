package slots

import (
	"encoding/binary"
	"fmt"

	"github.com/hadcluster/had/shm"
)

// SnapshotMax is the largest snapshot WriteSnapshot stores: two slots' data.
const SnapshotMax = 2 * shm.DataWords * 8

// A snapshot spans two slots, and a writer can die between the two writes.
// So there are two buffers (SlotFSM0..+1 and SlotFSM0+2..+3), used in turn:
// a generation number in both halves tells a whole buffer, and a reader
// takes the newest whole one. A crash mid-write costs at most the newest
// snapshot, never both.

// writer of the snapshot buffers.
type writer interface{ Write(slot int, r shm.Record) }

// reader of the snapshot buffers.
type reader interface {
	Read(slot int) (shm.Record, error)
}

// WriteSnapshot stores b as generation gen (> 0; the caller counts up).
func WriteSnapshot(t writer, gen uint64, b []byte) error {
	if len(b) > SnapshotMax {
		return fmt.Errorf("write snapshot: %d bytes, at most %d fit", len(b), SnapshotMax)
	}
	var buf [SnapshotMax]byte
	copy(buf[:], b)
	base := shm.SlotFSM0 + 2*int(gen%2)
	for half := 0; half < 2; half++ {
		r := shm.Record{Type: shm.TypeFSM, Counter: gen, Value: shm.Value(len(b))}
		for w := 0; w < shm.DataWords; w++ {
			r.Data[w] = binary.LittleEndian.Uint64(buf[(half*shm.DataWords+w)*8:])
		}
		t.Write(base+half, r)
	}
	return nil
}

// ReadSnapshot returns the newest whole snapshot and its generation; ok is
// false when there is none.
func ReadSnapshot(t reader) (b []byte, gen uint64, ok bool) {
	for buffer := 0; buffer < 2; buffer++ {
		base := shm.SlotFSM0 + 2*buffer
		r0, err0 := t.Read(base)
		r1, err1 := t.Read(base + 1)
		if err0 != nil || err1 != nil || r0.Type != shm.TypeFSM || r1.Type != shm.TypeFSM ||
			r0.Counter != r1.Counter || r0.Counter == 0 || r0.Value != r1.Value || int(r0.Value) > SnapshotMax {
			continue
		}
		if r0.Counter <= gen {
			continue
		}
		var buf [SnapshotMax]byte
		for half, r := range [2]shm.Record{r0, r1} {
			for w := 0; w < shm.DataWords; w++ {
				binary.LittleEndian.PutUint64(buf[(half*shm.DataWords+w)*8:], r.Data[w])
			}
		}
		b, gen, ok = append([]byte(nil), buf[:r0.Value]...), r0.Counter, true
	}
	return b, gen, ok
}
