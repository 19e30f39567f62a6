package had1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/daemon"
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
// A reload restarts the process on purpose (Restart) or ends the role
// (Retire). A Keeper must not be copied once used.
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

	once sync.Once
	reqs chan changeReq // Restart and Retire requests
}

// Run keeps the role running until ctx ends or Halt says so (nil), the
// policy gives up (ErrGaveUp), or Retire retires it (nil).
func (k *Keeper) Run(ctx context.Context) error {
	reqs := k.requests()
	p := k.adopt()
	var restarts Restarts
	count := 0
	var req *changeReq // a Restart waiting for its new process
	for {
		if p == nil {
			var err error
			if p, err = Spawn(k.Role.Argv, k.Role.Env, k.Stdout, k.Stderr); err != nil {
				k.Log.Error().Err(err).Str("role", k.Role.Name).Msg("start failed")
				p = nil
			} else {
				k.Log.Info().Str("role", k.Role.Name).Int("pid", p.PID).Msg("process started")
				k.started(p, count)
			}
			if req != nil {
				req.done <- p
				req = nil
			}
		}
		why := "start failed"
		var ranFor time.Duration
		if p != nil {
			why, req = k.watch(ctx, p, reqs)
			ranFor = time.Duration(shm.Now() - p.Started)
			switch why {
			case "hung", "garbage":
				k.Log.Error().Str("role", k.Role.Name).Int("pid", p.PID).Str("reason", why).Dur("silent", k.Hang).Msg("process hung or wrote garbage, killing it")
				_ = p.Kill()
				select {
				case <-p.Done():
				case <-time.After(time.Second): // SIGKILL of a D-state process may take a while; go on
				}
			case "change":
				k.end(p, req.ch)
			}
			p.Close()
		}
		if req != nil && req.retire {
			k.Log.Info().Str("role", k.Role.Name).Msg("process retired")
			req.done <- nil
			return nil
		}
		if ctx.Err() != nil {
			if req != nil {
				req.done <- nil
			}
			return nil
		}
		if why == "change" {
			// A deliberate restart: at once, and not counted against the
			// policy (a reload is not a failure).
			k.apply(req.ch)
			p = nil
			continue
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
		case r := <-reqs: // nothing runs: a change starts the role at once
			if r.retire {
				r.done <- nil
				return nil
			}
			k.apply(r.ch)
			req = &r
		}
	}
}

// Change is a new way to run a keeper's role, for a reload of the
// configuration.
type Change struct {
	Role   Role
	Policy Policy
	Hang   time.Duration
	Check  time.Duration
	// Stop ends the running process: SIGTERM for a clean stop; SIGKILL for
	// had2, which would hand its groups over on SIGTERM, and restores its
	// state from the table instead.
	Stop syscall.Signal
	// Grace is how long the process may take to exit before SIGKILL.
	Grace time.Duration
}

// changeReq is a Restart or a Retire on its way to Run.
type changeReq struct {
	ch     Change
	retire bool
	done   chan *Proc // the new process; nil when none started (or retired)
}

// ErrNotStarted: a restarted role's new process could not be started (the
// keeper goes on trying, as after any failed start).
var ErrNotStarted = errors.New("had1: process not started")

// Restart stops the role's process with ch.Stop (SIGKILL after ch.Grace),
// then starts it at once as ch says, and returns the new process. Such a
// restart does not count against the restart policy. It fails when ctx
// ends first (or the keeper is not running) and with ErrNotStarted when the
// new process could not be started.
func (k *Keeper) Restart(ctx context.Context, ch Change) (*Proc, error) {
	p, err := k.send(ctx, changeReq{ch: ch, done: make(chan *Proc, 1)})
	if err == nil && p == nil {
		err = fmt.Errorf("restart %s: %w", ch.Role.Name, ErrNotStarted)
	}
	return p, err
}

// Retire stops the role's process with sig (SIGKILL after grace) and ends
// Run: the role is no longer kept (an agent removed by a reload).
func (k *Keeper) Retire(ctx context.Context, sig syscall.Signal, grace time.Duration) error {
	_, err := k.send(ctx, changeReq{ch: Change{Stop: sig, Grace: grace}, retire: true, done: make(chan *Proc, 1)})
	return err
}

func (k *Keeper) send(ctx context.Context, req changeReq) (*Proc, error) {
	select {
	case k.requests() <- req:
	case <-ctx.Done():
		return nil, fmt.Errorf("change kept process: %w", ctx.Err())
	}
	select {
	case p := <-req.done:
		return p, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("change kept process: %w", ctx.Err())
	}
}

func (k *Keeper) requests() chan changeReq {
	k.once.Do(func() { k.reqs = make(chan changeReq) })
	return k.reqs
}

// end stops p for a change: ch.Stop, then SIGKILL after ch.Grace.
func (k *Keeper) end(p *Proc, ch Change) {
	sig := ch.Stop
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	grace := ch.Grace
	if grace <= 0 {
		grace = 2 * time.Second
	}
	k.Log.Info().Str("role", k.Role.Name).Int("pid", p.PID).Str("signal", sig.String()).Msg("stopping process for a reload")
	_ = p.Signal(sig)
	select {
	case <-p.Done():
		return
	case <-time.After(grace):
	}
	k.Log.Warn().Str("role", k.Role.Name).Int("pid", p.PID).Dur("waited", grace).Msg("process did not stop, killing it")
	_ = p.Kill()
	select {
	case <-p.Done():
	case <-time.After(time.Second):
	}
}

// apply takes a change's settings; a zero field keeps the current one.
func (k *Keeper) apply(ch Change) {
	if len(ch.Role.Argv) > 0 {
		k.Role = ch.Role
	}
	if ch.Policy != (Policy{}) {
		k.Policy = ch.Policy
	}
	if ch.Hang > 0 {
		k.Hang = ch.Hang
	}
	if ch.Check > 0 {
		k.Check = ch.Check
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
// writes a record Role.Valid refuses ("garbage"), a change is requested
// ("change", with the request), or ctx ends ("").
func (k *Keeper) watch(ctx context.Context, p *Proc, reqs <-chan changeReq) (string, *changeReq) {
	tick := daemon.NewGrid(k.Check)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", nil
		case <-p.Done():
			return "exited", nil
		case r := <-reqs:
			return "change", &r
		case <-tick.C:
			if why := k.check(p); why != "" {
				return why, nil
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
