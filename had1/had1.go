// Package had1 is the node's first monitor daemon (SPEC §1): it creates the
// shared record table, starts and supervises had2, the sender and the
// receiver (restarting any that exits or hangs), tells had2 when the comm
// processes are up ("PING start"), and fails the node safe when a process
// cannot be kept running. had2 supervises had1 in turn.
package had1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// Exit codes of had1, had2, had-sender and had-receiver.
const (
	ExitOK       = 0
	ExitConfig   = 1 // bad configuration, or already running
	ExitFailSafe = 2 // the node gave up and released its resources
)

// ErrFailedSafe: the node released its resources and stopped because it
// could not go on safely.
var ErrFailedSafe = errors.New("had1: node failed safe")

// ErrRunning: another had1 already runs on this node.
var ErrRunning = errors.New("had1: another had1 runs on this node")

// Releaser stops this node's resources without had2: the last resort when
// had2 itself cannot be kept running.
type Releaser interface {
	ReleaseAll(ctx context.Context) error
}

// Options is what Run needs besides the configuration.
type Options struct {
	ConfigPath string
	Log        zerolog.Logger
	Stdout     io.Writer // children's output; their logs go where had1's go
	Stderr     io.Writer
	Release    Releaser
	// StopTimeout bounds how long a graceful stop waits for had2 to hand
	// its groups over.
	StopTimeout time.Duration
	// Agents are the node's agents, in slot order (package agents lists
	// them from the configuration).
	Agents []Agent
}

// Agent is one agent process had1 keeps running.
type Agent struct {
	Index    int           // its slot pair: slots.AgentSlots(Index)
	Name     string        // for logs and its ID slot
	Argv     []string      // how to start it
	Env      []string      // added to had1's environment
	Hang     time.Duration // its result not rewritten for this long: hung
	Critical bool          // recorded in its ID slot for had2
	Service  bool
}

// Supervisor is one running had1.
type Supervisor struct {
	cfg   *config.Config
	opt   Options
	table *shm.Table
	log   zerolog.Logger
	start uint64

	mu       sync.Mutex
	phase    slots.Phase
	procs    map[string]*Proc
	restarts [slots.ExtraRestartsAdmin + 1]uint64 // by restartWord; the rest of Extra is unused
}

// Run is had1's life: it returns nil when ctx ends (a graceful stop),
// an error wrapping ErrFailedSafe when the node failed safe, and any other
// error when it could not start (ErrRunning: another had1 runs).
func Run(ctx context.Context, cfg *config.Config, opt Options) error {
	s := &Supervisor{cfg: cfg, opt: opt, log: opt.Log, procs: map[string]*Proc{}, phase: slots.PhaseStarting}
	if s.opt.StopTimeout == 0 {
		s.opt.StopTimeout = 30 * time.Second
	}
	s.start, _ = daemon.StartTime(os.Getpid())
	release, err := s.openTable()
	if err != nil {
		return err
	}
	defer release()
	s.bump(0)

	// The keepers outlive ctx: a stop signal first stops the processes in
	// order (stop, failSafe), and only then are the keepers let go.
	kctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failed := make(chan error, 4)
	var wg sync.WaitGroup
	keepers := []*Keeper{}
	for _, role := range s.roles() {
		keepers = append(keepers, s.keeper(role))
	}
	for _, a := range opt.Agents {
		keepers = append(keepers, s.agentKeeper(a))
	}
	for _, k := range keepers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k.Run(kctx); err != nil {
				failed <- fmt.Errorf("keep %s running: %w", k.Role.Name, err)
			}
		}()
	}

	var failure error
	tick := time.NewTicker(cfg.Supervise.Liveness)
	defer tick.Stop()
	var counter uint64
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case failure = <-failed:
			break loop
		case <-tick.C:
			counter++
			s.pingStart()
			s.bump(counter)
			if s.had2Phase() == slots.PhaseFailSafe {
				failure = errors.New("had2 failed safe")
				break loop
			}
		}
	}
	if failure != nil {
		s.failSafe(failure)
		cancel()
		wg.Wait()
		return fmt.Errorf("%w: %w", ErrFailedSafe, failure)
	}
	s.stop()
	cancel()
	wg.Wait()
	return nil
}

// openTable opens the node's table when its processes still run (had1 was
// restarted) or creates a fresh one, and takes had1's role lock.
func (s *Supervisor) openTable() (release func(), err error) {
	path := s.cfg.ShmPath
	if t, err := shm.Open(path); err == nil {
		unlock, err := t.Lock(shm.SlotHad1)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("lock %s: %w: %w", path, ErrRunning, err)
		}
		if s.anyAlive(t) {
			s.log.Info().Str("table", path).Msg("table adopted")
			s.table = t
			return func() { unlock(); t.Close() }, nil
		}
		s.killLeftAgents(t)
		unlock()
		t.Close()
	}
	epoch, err := NextEpoch(s.cfg.StateDir, time.Now())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	t, err := shm.Create(path, epoch)
	if err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	unlock, err := t.Lock(shm.SlotHad1)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	s.log.Info().Str("table", path).Uint64("epoch", epoch).Msg("table created")
	s.table = t
	return func() { unlock(); t.Close() }, nil
}

// anyAlive reports whether a process the table names still runs.
func (s *Supervisor) anyAlive(t *shm.Table) bool {
	for _, slot := range []int{shm.SlotHad2, shm.SlotSender, shm.SlotReceiver} {
		r, err := t.Read(slot)
		if err != nil && !errors.Is(err, shm.ErrStale) || r.PID <= 0 {
			continue
		}
		d := slots.ParseDaemon(r)
		if d.Phase == slots.PhaseStopping || d.Phase == slots.PhaseFailSafe {
			continue
		}
		if got, err := daemon.StartTime(int(d.PID)); err == nil && got == d.Start {
			return true
		}
	}
	return false
}

// killLeftAgents kills the agents an old table names that still run (every
// other process of the node is gone): a fresh start makes a new table, and
// they would go on writing to the old one.
func (s *Supervisor) killLeftAgents(t *shm.Table) {
	for i := 0; i < shm.MaxAgents; i++ {
		id, _ := slots.AgentSlots(i)
		r, err := t.Read(id)
		if err != nil && !errors.Is(err, shm.ErrStale) || r.Type != shm.TypeAgentID {
			continue
		}
		a := slots.ParseAgentID(r)
		if p, err := Adopt(int(a.PID), a.Start); err == nil {
			s.log.Warn().Str("agent", a.Name).Int("pid", p.PID).Msg("killing an agent left from before")
			_ = p.Kill()
			p.Close()
		}
	}
}

// roles are the processes had1 keeps running.
func (s *Supervisor) roles() []Role {
	bin := func(name string) string { return filepath.Join(s.cfg.BinDir, name) }
	args := []string{"--config", s.opt.ConfigPath}
	return []Role{
		{Name: "sender", Slot: shm.SlotSender, Argv: append([]string{bin("had-sender")}, args...)},
		{Name: "receiver", Slot: shm.SlotReceiver, Argv: append([]string{bin("had-receiver")}, args...)},
		{Name: "had2", Slot: shm.SlotHad2, Argv: append([]string{bin("had2")}, args...)},
		// The console must never be why a node fails safe.
		{Name: "admin", Slot: shm.SlotAdminSrv, Argv: append([]string{bin("had-admin")}, args...), Forever: true},
	}
}

// restartWord is where had1's slot counts each role's restarts.
var restartWord = map[string]int{"had2": slots.ExtraRestartsHad2, "sender": slots.ExtraRestartsSender,
	"receiver": slots.ExtraRestartsReceiver, "admin": slots.ExtraRestartsAdmin}

func (s *Supervisor) keeper(role Role) *Keeper {
	sv := s.cfg.Supervise
	return &Keeper{
		Role:  role,
		Table: s.table,
		Policy: Policy{BackoffMin: sv.BackoffMin, BackoffMax: sv.BackoffMax, MaxRestarts: sv.MaxRestarts,
			Window: sv.RestartWindow, Stable: 10 * time.Second},
		Hang:   sv.HangTimeout,
		Check:  sv.HangTimeout / 4,
		Log:    s.log,
		Stdout: s.opt.Stdout,
		Stderr: s.opt.Stderr,
		Halt:   s.halting,
		Started: func(p *Proc, restarts int) {
			s.mu.Lock()
			s.procs[role.Name] = p
			if w, ok := restartWord[role.Name]; ok {
				s.restarts[w] = uint64(restarts)
			}
			s.mu.Unlock()
		},
	}
}

// agentKeeper keeps one agent running: restarted when it dies, hangs or
// writes garbage, with backoff, never failing the node for it. Each start
// is recorded in the agent's ID slot, where had2 and the console find its
// name and policy.
func (s *Supervisor) agentKeeper(a Agent) *Keeper {
	id, result := slots.AgentSlots(a.Index)
	role := Role{Name: "agent " + a.Name, Slot: result, Argv: a.Argv, Env: a.Env, AnyWriter: true,
		Valid: slots.ValidAgentResult, Forever: true}
	k := s.keeper(role)
	k.Hang, k.Check = a.Hang, max(a.Hang/4, 50*time.Millisecond)
	var flags uint64
	if a.Critical {
		flags |= slots.AgentCritical
	}
	if a.Service {
		flags |= slots.AgentService
	}
	k.Started = func(p *Proc, restarts int) {
		s.mu.Lock()
		s.procs[role.Name] = p
		s.mu.Unlock()
		s.table.Write(id, slots.AgentID{PID: int32(p.PID), Name: a.Name, Restarts: uint64(restarts), Flags: flags, Start: p.Start}.Record())
	}
	k.Adopt = func() *Proc {
		r, err := s.table.Read(id)
		if err != nil && !errors.Is(err, shm.ErrStale) || r.Type != shm.TypeAgentID {
			return nil
		}
		rec := slots.ParseAgentID(r)
		if rec.Name != a.Name {
			return nil
		}
		p, err := Adopt(int(rec.PID), rec.Start)
		if err != nil {
			return nil
		}
		return p
	}
	return k
}

func (s *Supervisor) halting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase == slots.PhaseStopping || s.phase == slots.PhaseFailSafe
}

func (s *Supervisor) setPhase(p slots.Phase) {
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
}

func (s *Supervisor) proc(role string) *Proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[role]
}

// bump rewrites had1's own slot: its liveness for had2.
func (s *Supervisor) bump(counter uint64) {
	s.mu.Lock()
	phase := s.phase
	d := slots.Daemon{Value: shm.OK, Interval: int64(s.cfg.Supervise.HangTimeout), Counter: counter, Start: s.start, Phase: phase}
	copy(d.Extra[:], s.restarts[:])
	s.mu.Unlock()
	s.table.Write(shm.SlotHad1, d.Record())
}

// pingStart moves had1 to Running once the sender and the receiver are up:
// had2 does not start its state machine's clocks before that.
func (s *Supervisor) pingStart() {
	s.mu.Lock()
	starting := s.phase == slots.PhaseStarting
	s.mu.Unlock()
	if !starting {
		return
	}
	for _, role := range []string{"sender", "receiver"} {
		p := s.proc(role)
		slot := map[string]int{"sender": shm.SlotSender, "receiver": shm.SlotReceiver}[role]
		r, err := s.table.Read(slot)
		if p == nil || err != nil || int(r.PID) != p.PID {
			return
		}
	}
	s.setPhase(slots.PhaseRunning)
	s.log.Info().Msg("comm processes up, PING start")
}

func (s *Supervisor) had2Phase() slots.Phase {
	r, err := s.table.Read(shm.SlotHad2)
	if err != nil && !errors.Is(err, shm.ErrStale) {
		return slots.PhaseNone
	}
	return slots.ParseDaemon(r).Phase
}

// stop is the graceful end: had2 hands everything to the peer and exits,
// then the comm processes stop and the table goes.
func (s *Supervisor) stop() {
	s.setPhase(slots.PhaseStopping)
	s.bump(0)
	s.log.Info().Msg("stopping node")
	if p := s.proc("had2"); p != nil && !p.Exited() {
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(s.opt.StopTimeout):
			s.log.Error().Dur("waited", s.opt.StopTimeout).Msg("had2 did not stop in time, killing it")
			_ = p.Kill()
			s.releaseDirectly()
		}
	}
	s.stopComm()
	if err := os.Remove(s.cfg.ShmPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn().Err(err).Msg("remove table failed")
	}
	s.log.Info().Msg("node stopped")
}

// failSafe releases the node's resources and tells the peer to take over,
// by had2 when it can, else by had1 itself, and stops everything.
func (s *Supervisor) failSafe(cause error) {
	s.setPhase(slots.PhaseFailSafe)
	s.bump(0)
	s.log.Error().Err(cause).Msg("node failing safe: releasing resources and handing over to the peer")
	p := s.proc("had2")
	if p != nil && !p.Exited() && s.had2Phase() != slots.PhaseFailSafe {
		// had2 sees had1's phase and shuts down as on a graceful stop.
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(s.opt.StopTimeout):
			_ = p.Kill()
			s.releaseDirectly()
		}
	} else {
		if p != nil {
			_ = p.Kill()
			<-p.Done()
		}
		s.releaseDirectly()
	}
	s.stopComm()
}

// releaseDirectly stops both tables from had1 and queues a TAKEOVER for the
// sender, standing in for a had2 that is gone (and killed: one writer per slot).
func (s *Supervisor) releaseDirectly() {
	if s.opt.Release != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.opt.StopTimeout)
		if err := s.opt.Release.ReleaseAll(ctx); err != nil {
			s.log.Error().Err(err).Msg("release failed")
		}
		cancel()
	}
	r, _ := s.table.Read(shm.SlotSend)
	send := slots.ParseSend(r)
	send.State, send.Held, send.Flags = wire.StateDown, 0, send.Flags|wire.FlagStopping
	send.Push(slots.Control{Kind: wire.Takeover, Flags: wire.FlagStopping})
	s.table.Write(shm.SlotSend, send.Record())
	s.table.Ring(shm.BellSender)
	time.Sleep(3 * s.cfg.Timers.Interval) // let a few heartbeats carry the news
}

// stopComm stops the sender, the receiver, the admin server and the agents.
func (s *Supervisor) stopComm() {
	roles := []string{"sender", "receiver", "admin"}
	for _, a := range s.opt.Agents {
		roles = append(roles, "agent "+a.Name)
	}
	for _, role := range roles {
		if p := s.proc(role); p != nil {
			if err := p.Signal(syscall.SIGTERM); err != nil {
				s.log.Warn().Err(err).Str("role", role).Msg("stop failed")
			}
		}
	}
	for _, role := range roles {
		if p := s.proc(role); p != nil {
			select {
			case <-p.Done():
			case <-time.After(2 * time.Second):
				s.log.Warn().Str("role", role).Int("pid", p.PID).Msg("process ignored SIGTERM, killing it")
				_ = p.Kill()
			}
		}
	}
}

// NextEpoch returns this boot's epoch and records it in dir: the larger of
// the wall clock in seconds and the last epoch plus one, so it grows even
// when the clock steps back between boots (the peer rejects smaller epochs
// as replays).
func NextEpoch(dir string, now time.Time) (uint64, error) {
	path := filepath.Join(dir, "epoch")
	var last uint64
	if b, err := os.ReadFile(path); err == nil {
		last, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("read epoch: %w", err)
	}
	epoch := max(uint64(now.Unix()), last+1)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("write epoch: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(epoch, 10)+"\n"), 0o600); err != nil {
		return 0, fmt.Errorf("write epoch: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("write epoch: %w", err)
	}
	return epoch, nil
}
