package daemon

import (
	"errors"
	"os"
	"time"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// Slot is a daemon's own liveness record. Every write bumps the counter;
// the loop that owns it writes it at least every half liveness period, so
// a hung loop shows as hung (it is never bumped from a ticker goroutine).
type Slot struct {
	Rec   slots.Daemon // written by Write; the daemon fills its role's words
	t     *shm.Table
	slot  int
	every int64 // ns between bumps at most
	last  int64 // shm.Now of the last write
	kept  int64 // shm.Now of the last KeepRealtime
}

// NewSlot restores the slot's previous record (its Extra words and counter
// carry over a restart) and reports whether it could: false when the slot
// was torn by a writer killed mid-write, whose words are lost.
func NewSlot(t *shm.Table, slot int, liveness, hang time.Duration) (*Slot, bool) {
	d := &Slot{t: t, slot: slot, every: int64(liveness) / 2}
	r, err := t.Read(slot)
	whole := err == nil || !errors.Is(err, shm.ErrTorn)
	if whole && r.Type == shm.TypeDaemon {
		d.Rec = slots.ParseDaemon(r)
	}
	d.Rec.Value, d.Rec.PID, d.Rec.Text = shm.OK, 0, ""
	d.Rec.Interval = int64(hang)
	d.Rec.Start, _ = StartTime(os.Getpid())
	d.Rec.Phase = slots.PhaseRunning
	return d, whole
}

// Write stores the record now, bumping the counter. Once a liveness
// period it also keeps new threads at the realtime policy (KeepRealtime).
func (d *Slot) Write(now int64) {
	if now-d.kept >= d.every {
		d.kept = now
		KeepRealtime()
	}
	d.Rec.Extra[slots.ExtraSched] = SchedWord()
	d.Rec.Counter++
	d.t.Write(d.slot, d.Rec.Record())
	d.last = now
}

// Bump writes the record if the last write is half a liveness period old.
func (d *Slot) Bump(now int64) {
	if now-d.last >= d.every {
		d.Write(now)
	}
}

// Next is when Bump writes next.
func (d *Slot) Next() int64 { return d.last + d.every }
