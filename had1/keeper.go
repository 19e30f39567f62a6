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
	Slot int      // the slot it rewrites at least every Keeper.Hang
	Argv []string // how to start it
	Env  []string // added to had1's environment
	// AnyWriter: the slot may be written by another process than the one
	// started (a shell agent reports through hactl), so its writes count
	// as signs of life whatever their PID.
	AnyWriter bool
	// Valid, if set, judges each new record of the slot: a process that
	// writes garbage is killed and restarted like a hung one.
	Valid func(shm.Record) bool
	// Forever: never give up on it; past Policy.MaxRestarts keep trying at
	// the longest backoff. For agents: a broken check must not stop the
	// node.
	Forever bool
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
	// adopts, with how many restarts there were before it.
	Started func(p *Proc, restarts int)
	// Adopt, if set, finds the running process to adopt instead of the
	// role's slot naming it as a Daemon record does.
	Adopt func() *Proc
}

// Run keeps the role running until ctx ends or Halt says so (nil), or the
// policy gives up (ErrGaveUp).
func (k *Keeper) Run(ctx context.Context) error {
	p := k.adopt()
	var restarts Restarts
	count := 0
	for {
		if p == nil {
			var err error
			if p, err = Spawn(k.Role.Argv, k.Role.Env, k.Stdout, k.Stderr); err != nil {
				k.Log.Error().Err(err).Str("role", k.Role.Name).Msg("start failed")
			} else {
				k.Log.Info().Str("role", k.Role.Name).Int("pid", p.PID).Msg("process started")
				k.started(p, count)
			}
		}
		why := "start failed"
		var ranFor time.Duration
		if p != nil {
			why = k.watch(ctx, p)
			ranFor = time.Duration(shm.Now() - p.Started)
			if why == "hung" || why == "garbage" {
				k.Log.Error().Str("role", k.Role.Name).Int("pid", p.PID).Str("reason", why).Dur("silent", k.Hang).Msg("process hung or wrote garbage, killing it")
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
		count++
		delay, giveUp := k.Policy.Next(&restarts, time.Duration(shm.Now()), ranFor)
		if giveUp && !k.Role.Forever {
			k.Log.Error().Str("role", k.Role.Name).Int("restarts", k.Policy.MaxRestarts).Dur("window", k.Policy.Window).Msg("process keeps failing, giving up")
			return ErrGaveUp
		}
		if giveUp {
			k.Log.Error().Str("role", k.Role.Name).Int("restarts", count).Msg("process keeps failing, still retrying")
			delay = k.Policy.BackoffMax
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

func (k *Keeper) started(p *Proc, restarts int) {
	if k.Started != nil {
		k.Started(p, restarts)
	}
}

// adopt returns the process the role's slot names, if it still runs.
func (k *Keeper) adopt() *Proc {
	if k.Adopt != nil {
		p := k.Adopt()
		if p != nil {
			k.Log.Info().Str("role", k.Role.Name).Int("pid", p.PID).Msg("process adopted")
			k.started(p, 0)
		}
		return p
	}
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
	k.started(p, 0)
	return p
}

// watch waits until p exits ("exited"), stops bumping its slot ("hung"),
// writes a record Role.Valid refuses ("garbage"), or ctx ends ("").
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
			if why := k.check(p); why != "" {
				return why
			}
		}
	}
}

// check returns "hung" when p has not written its slot for k.Hang (until it
// writes the first time, the clock runs from its start), "garbage" when its
// newest record is one Role.Valid refuses, and "" otherwise.
func (k *Keeper) check(p *Proc) string {
	last := p.Started
	r, err := k.Table.Read(k.Role.Slot)
	mine := (err == nil || errors.Is(err, shm.ErrStale)) && r.Stamp > last && (k.Role.AnyWriter || int(r.PID) == p.PID)
	if mine {
		if k.Role.Valid != nil && !k.Role.Valid(r) {
			return "garbage"
		}
		last = r.Stamp
	}
	if shm.Now()-last > int64(k.Hang) {
		return "hung"
	}
	return ""
}
