package comm

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// daemon is a process's own liveness slot. Every write bumps the counter;
// the loop that owns it writes it at least every half liveness period, so
// a hung loop shows as hung (never bumped from a ticker goroutine).
type daemon struct {
	t     *shm.Table
	slot  int
	every int64 // ns between bumps at most
	last  int64 // shm.Now of the last write
	rec   slots.Daemon
}

// newDaemon restores the slot's previous record (its Extra words and
// counter carry over a restart) and reports whether it could: false when
// the slot was torn by a writer killed mid-write, whose words are lost.
func newDaemon(t *shm.Table, slot int, liveness, hang time.Duration) (*daemon, bool) {
	d := &daemon{t: t, slot: slot, every: int64(liveness) / 2}
	r, err := t.Read(slot)
	whole := err == nil || !errors.Is(err, shm.ErrTorn)
	if whole && r.Type == shm.TypeDaemon {
		d.rec = slots.ParseDaemon(r)
	}
	d.rec.Value, d.rec.PID, d.rec.Text = shm.OK, 0, ""
	d.rec.Interval = int64(hang)
	d.rec.Start, _ = startTime(os.Getpid())
	d.rec.Phase = slots.PhaseRunning
	return d, whole
}

// write stores the record now, bumping the counter.
func (d *daemon) write(now int64) {
	d.rec.Counter++
	d.t.Write(d.slot, d.rec.Record())
	d.last = now
}

// bump writes the record if the last write is half a liveness period old.
func (d *daemon) bump(now int64) {
	if now-d.last >= d.every {
		d.write(now)
	}
}

// next is when bump writes next.
func (d *daemon) next() int64 { return d.last + d.every }

// startTime returns field 22 of /proc/PID/stat, the process's start time
// in clock ticks since boot: with the PID it names one process for good,
// which is how the supervisor tells a reused PID.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read start time of %d: %w", pid, err)
	}
	return parseStartTime(string(b))
}

// parseStartTime reads field 22 of a /proc/PID/stat line. Field 2, the
// command name, may hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseStartTime(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("parse /proc stat: no command name")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the name, want at least 20", len(f))
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc stat start time: %w", err)
	}
	return v, nil
}
