package daemon

import (
	"errors"
	"os"
	"time"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// Slot is a daemon's own liveness record. Every write bumps the counter;
// the loop that owns it writes it at least every 1.5 liveness periods (far
// inside the hang timeout), so a hung loop shows as hung (it is never
// bumped from a ticker goroutine).
type Slot struct {
	Rec      slots.Daemon // written by Write; the daemon fills its role's words
	t        *shm.Table
	slot     int
	liveness time.Duration
	last     int64 // shm.Now of the last write
	kept     int64 // shm.Now of the last KeepRealtime
}

// NewSlot restores the slot's previous record (its Extra words and counter
// carry over a restart) and reports whether it could: false when the slot
// was torn by a writer killed mid-write, whose words are lost.
func NewSlot(t *shm.Table, slot int, liveness, hang time.Duration) (*Slot, bool) {
	d := &Slot{t: t, slot: slot, liveness: liveness}
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
	if now-d.kept >= int64(d.liveness)/2 {
		d.kept = now
		KeepRealtime()
	}
	d.Rec.Extra[slots.ExtraSched] = SchedWord()
	d.Rec.Counter++
	d.t.Write(d.slot, d.Rec.Record())
	d.last = now
}

// Bump writes the record if Next has come.
func (d *Slot) Bump(now int64) {
	if now >= d.Next() {
		d.Write(now)
	}
}

// Next is when Bump writes next: BumpAfter the last write.
func (d *Slot) Next() int64 { return BumpAfter(d.last, d.liveness) }

// BumpAfter is when a daemon that last wrote its slot at last bumps it
// next: the first liveness grid point at least half a period later. An
// idle daemon so bumps once a period, in the wake-up every other daemon of
// the node bumps in; one that writes its slot more often for its own work
// (the sender, with each heartbeat) is never woken for a bump.
func BumpAfter(last int64, liveness time.Duration) int64 {
	return NextOnGrid(last+int64(liveness)/2-1, liveness)
}
