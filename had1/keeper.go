package had1

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// ErrGaveUp: a process could not be kept running (Policy.MaxRestarts).
var ErrGaveUp = errors.New("had1: process keeps failing")

// Role is one kind of process a Keeper keeps running.
type Role struct {
	Name string   // for logs: "had2", "sender", …
	Slot int      // its Daemon slot in the table
	Argv []string // how to start it
}

// Keeper keeps one role's process running: it adopts the process its slot
// names if that still runs, restarts it when it exits, and kills and
// restarts it when its liveness counter stops (a hang, not only a death).
type Keeper struct {
	Role   Role
	Table  *shm.Table
	Policy Policy
	Hang   time.Duration // a slot not rewritten for this long: hung
	Check  time.Duration // how often the slot is looked at
	Log    zerolog.Logger
	Stdout io.Writer
	Stderr io.Writer
	// Halt reports whether the node is stopping on purpose: then an exit
	// is not restarted.
	Halt func() bool
	// Started, if set, is told about every process the keeper starts or
	// adopts.
	Started func(*Proc)
}

// Run keeps the role running until ctx ends or Halt says so (nil), or the
// policy gives up (ErrGaveUp).
func (k *Keeper) Run(ctx context.Context) error {
	p := k.adopt()
	var restarts Restarts
	for {
		if p == nil {
			var err error
			if p, err = Spawn(k.Role.Argv, k.Stdout, k.Stderr); err != nil {
				k.Log.Error().Err(err).Str("role", k.Role.Name).Msg("start failed")
			} else {
				k.Log.Info().Str("role", k.Role.Name).Int("pid", p.PID).Msg("process started")
				k.started(p)
			}
		}
		why := "start failed"
		var ranFor time.Duration
		if p != nil {
			why = k.watch(ctx, p)
			ranFor = time.Duration(shm.Now() - p.Started)
			if why == "hung" {
				k.Log.Error().Str("role", k.Role.Name).Int("pid", p.PID).Dur("silent", k.Hang).Msg("process hung, killing it")
				_ = p.Kill()
				select {
				case <-p.Done():
				case <-time.After(time.Second): // SIGKILL of a D-state process may take a while; go on
				}
			}
			p.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		if k.Halt != nil && k.Halt() {
			k.Log.Info().Str("role", k.Role.Name).Msg("process ended, node stopping")
			return nil
		}
		delay, giveUp := k.Policy.Next(&restarts, time.Duration(shm.Now()), ranFor)
		if giveUp {
			k.Log.Error().Str("role", k.Role.Name).Int("restarts", k.Policy.MaxRestarts).Dur("window", k.Policy.Window).Msg("process keeps failing, giving up")
			return ErrGaveUp
		}
		ev := k.Log.Warn().Str("role", k.Role.Name).Str("reason", why).Dur("after", delay)
		if p != nil {
			ev = ev.Int("pid", p.PID).Int("exit", p.ExitCode())
		}
		ev.Msg("restarting process")
		p = nil
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

func (k *Keeper) started(p *Proc) {
	if k.Started != nil {
		k.Started(p)
	}
}

// adopt returns the process the role's slot names, if it still runs.
func (k *Keeper) adopt() *Proc {
	r, err := k.Table.Read(k.Role.Slot)
	if err != nil && !errors.Is(err, shm.ErrStale) || r.PID <= 0 {
		return nil
	}
	d := slots.ParseDaemon(r)
	p, err := Adopt(int(d.PID), d.Start)
	if err != nil {
		return nil
	}
	k.Log.Info().Str("role", k.Role.Name).Int("pid", p.PID).Msg("process adopted")
	k.started(p)
	return p
}

// watch waits until p exits ("exited"), stops bumping its slot ("hung"),
// or ctx ends ("").
func (k *Keeper) watch(ctx context.Context, p *Proc) string {
	tick := time.NewTicker(k.Check)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-p.Done():
			return "exited"
		case <-tick.C:
			if k.hung(p) {
				return "hung"
			}
		}
	}
}

// hung reports whether p has not written its slot for k.Hang. Until it
// writes the first time, the clock runs from its start.
func (k *Keeper) hung(p *Proc) bool {
	last := p.Started
	if r, err := k.Table.Read(k.Role.Slot); (err == nil || errors.Is(err, shm.ErrStale)) && int(r.PID) == p.PID && r.Stamp > last {
		last = r.Stamp
	}
	return shm.Now()-last > int64(k.Hang)
}
