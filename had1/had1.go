// Package had1 is the node's first monitor daemon (SPEC §1): it creates the
// shared record table, starts and supervises had2, the sender, the
// receiver, the admin server and the agents (restarting any that exits or
// hangs), tells had2 when the comm processes are up ("PING start"), and
// fails the node safe when a process cannot be kept running. had2
// supervises had1 in turn (or systemd does: EnvSupervisor). A reload
// (SIGHUP) applies a new configuration without a handover (reload_run.go);
// under systemd had1 speaks sd_notify (notify.go); it keeps a pid file for
// the init script (pidfile.go).
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

	sd "github.com/coreos/go-systemd/v22/daemon"
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
	// Own and Peer are the node's RECOVER and TAKEOVER tables in canonical
	// form (Loaded): a reload compares them with the new ones.
	Own, Peer []string

	// Reload reads the whole configuration again (node.Load, agents.List)
	// for a reload; Reloads delivers the requests (SIGHUP). Either nil: no
	// reloads.
	Reload  func() (Loaded, error)
	Reloads <-chan struct{}
	// Notify, if set, hears READY=1, STATUS=, WATCHDOG=1, RELOADING=1 and
	// STOPPING=1 (systemd, Type=notify).
	Notify Notifier
	// Watchdog is the service manager's watchdog period (WatchdogPeriod);
	// WATCHDOG=1 goes out every half of it. 0: none.
	Watchdog time.Duration
	// PIDFile, if set, gets had1's PID once the node runs (the moment
	// READY=1 is sent) and is removed on a graceful stop. It is kept after
	// a fail-safe exit, so an init script's status says "dead".
	PIDFile string
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
	// Config is the agent's whole configuration: a reload restarts an
	// agent when any of it changed, even what only had-agent reads.
	Config config.Agent
}

// Supervisor is one running had1.
type Supervisor struct {
	opt   Options
	table *shm.Table
	log   zerolog.Logger
	start uint64

	// The keepers outlive Run's ctx: a stop signal first stops the
	// processes in order (stop, failSafe), and only then are they let go.
	kctx   context.Context
	wg     sync.WaitGroup
	failed chan error

	mu       sync.Mutex
	cfg      *config.Config // replaced by a reload, with opt's Agents, Own, Peer and Release
	phase    slots.Phase
	procs    map[string]*Proc
	keepers  map[string]*Keeper
	restarts [slots.ExtraRestartsAdmin + 1]uint64 // Extra words: the reload count, then restarts by restartWord
	reloadOK bool                                 // with restarts[ExtraReloadGen]: the last reload's answer
	text     string                               // had1's slot text: the last reload's answer

	slotMu  sync.Mutex // one writer of had1's slot at a time (the main loop, a reload)
	counter uint64

	sdStatus string // the STATUS= last sent
}

// Run is had1's life: it returns nil when ctx ends (a graceful stop),
// an error wrapping ErrFailedSafe when the node failed safe, and any other
// error when it could not start (ErrRunning: another had1 runs).
func Run(ctx context.Context, cfg *config.Config, opt Options) error {
	s := &Supervisor{cfg: cfg, opt: opt, log: opt.Log, procs: map[string]*Proc{}, keepers: map[string]*Keeper{},
		phase: slots.PhaseStarting, failed: make(chan error, 8)}
	if s.opt.StopTimeout == 0 {
		s.opt.StopTimeout = 30 * time.Second
	}
	s.start, _ = daemon.StartTime(os.Getpid())
	release, err := s.openTable()
	if err != nil {
		return err
	}
	defer release()
	s.bump()
	s.notify("STATUS=starting")

	kctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.kctx = kctx
	for _, role := range s.roles(cfg) {
		s.launch(s.keeper(role, cfg.Supervise))
	}
	for _, a := range opt.Agents {
		s.launch(s.agentKeeper(a, cfg.Supervise))
	}

	var failure error
	tick := daemon.NewGrid(cfg.Supervise.Liveness)
	defer tick.Stop()
	// Until the comm processes are up, look every few milliseconds: "PING
	// start" (and READY=1, the pid file) should not wait for a liveness tick.
	starting := time.NewTicker(5 * time.Millisecond)
	defer starting.Stop()
	var watchdog <-chan time.Time
	if opt.Watchdog > 0 {
		wd := time.NewTicker(opt.Watchdog / 2)
		defer wd.Stop()
		watchdog = wd.C
	}
	reloaded := make(chan reloadResult, 1)
	reloading, pending := false, false
	// A stop or a failure ends a reload between its steps.
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	startReload := func() {
		reloading = true
		go func() { reloaded <- s.reload(rctx) }()
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case failure = <-s.failed:
			break loop
		case <-opt.Reloads:
			if reloading {
				pending = true // one more once this one is done: the file may have changed again
				continue
			}
			startReload()
		case res := <-reloaded:
			reloading = false
			s.reloadDone(res, tick)
			if pending {
				pending = false
				startReload()
			}
		case <-starting.C:
			if s.pingStart() {
				starting.Stop()
			}
		case <-watchdog:
			s.notify(sd.SdNotifyWatchdog)
		case <-tick.C:
			s.pingStart()
			s.bump()
			s.updateStatus()
			if s.had2Phase() == slots.PhaseFailSafe {
				failure = errors.New("had2 failed safe")
				break loop
			}
		}
	}
	if reloading {
		// The step in progress finishes (its keeper carries out a restart
		// it has taken on in any case); the next ones are skipped.
		rcancel()
		s.reloadDone(<-reloaded, tick)
	}
	if failure != nil {
		s.notify("STOPPING=1\nSTATUS=failing safe: " + failure.Error())
		s.failSafe(failure)
		cancel()
		s.wg.Wait()
		return fmt.Errorf("%w: %w", ErrFailedSafe, failure)
	}
	s.notify("STOPPING=1\nSTATUS=stopping: handing over to the peer")
	s.stop()
	cancel()
	s.wg.Wait()
	if s.opt.PIDFile != "" {
		if err := RemovePIDFile(s.opt.PIDFile, os.Getpid()); err != nil {
			s.log.Warn().Err(err).Msg("pid file not removed")
		}
	}
	return nil
}

// launch runs k until the keepers' context ends or it is retired.
func (s *Supervisor) launch(k *Keeper) {
	s.mu.Lock()
	s.keepers[k.Role.Name] = k
	s.mu.Unlock()
	name := k.Role.Name
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := k.Run(s.kctx); err != nil {
			select {
			case s.failed <- fmt.Errorf("keep %s running: %w", name, err):
			default: // the node is failing already
			}
		}
	}()
}

func (s *Supervisor) config() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func (s *Supervisor) notify(state string) {
	if s.opt.Notify == nil {
		return
	}
	if err := s.opt.Notify.Notify(state); err != nil {
		s.log.Warn().Err(err).Str("state", state).Msg("service manager not notified")
	}
}

// updateStatus tells the service manager what the node does (STATUS=),
// when that changed: had1's phase and the state had2 last published.
func (s *Supervisor) updateStatus() {
	if s.opt.Notify == nil {
		return
	}
	s.mu.Lock()
	phase := s.phase
	s.mu.Unlock()
	var st string
	switch phase {
	case slots.PhaseRunning:
		r, _ := s.table.Read(shm.SlotSend)
		send := slots.ParseSend(r)
		if send.State.Valid() {
			st = fmt.Sprintf("running: state %v, holding %v", send.State, send.Held)
		} else {
			st = "running: state machine starting"
		}
	default:
		st = "starting"
	}
	if st != s.sdStatus {
		s.sdStatus = st
		s.notify("STATUS=" + st)
	}
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
			s.restoreReload()
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

// roles are the processes had1 keeps running, as cfg runs them.
func (s *Supervisor) roles(cfg *config.Config) []Role {
	bin := func(name string) string { return filepath.Join(cfg.BinDir, name) }
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

// policy is the restart policy of sv.
func policy(sv config.Supervise) Policy {
	return Policy{BackoffMin: sv.BackoffMin, BackoffMax: sv.BackoffMax, MaxRestarts: sv.MaxRestarts,
		Window: sv.RestartWindow, Stable: 10 * time.Second}
}

func (s *Supervisor) keeper(role Role, sv config.Supervise) *Keeper {
	return &Keeper{
		Role:   role,
		Table:  s.table,
		Policy: policy(sv),
		Hang:   sv.HangTimeout,
		Check:  sv.HangCheck(),
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

// agentCheck is how often an agent's result slot is looked at: a quarter
// of its hang time, rounded down to a multiple of the daemons' own check
// period (grid), so that the checks fall in the wake-ups the liveness
// ticks already cost.
func agentCheck(hang, grid time.Duration) time.Duration {
	c := max(hang/4, 50*time.Millisecond)
	if grid > 0 && c > grid {
		c -= c % grid
	}
	return c
}

// agentKeeper keeps one agent running: restarted when it dies, hangs or
// writes garbage, with backoff, never failing the node for it. Each start
// is recorded in the agent's ID slot, where had2 and the console find its
// name and policy.
func (s *Supervisor) agentKeeper(a Agent, sv config.Supervise) *Keeper {
	id, result := slots.AgentSlots(a.Index)
	// An agent must not talk to systemd as if it were the unit's main
	// process (NotifyAccess=all would let it): "NOTIFY_SOCKET=" hides the
	// socket from sd_notify in any language.
	env := append(append([]string(nil), a.Env...), "NOTIFY_SOCKET=")
	role := Role{Name: agentRole(a.Name), Slot: result, Argv: a.Argv, Env: env, AnyWriter: true,
		Valid: slots.ValidAgentResult, Forever: true}
	k := s.keeper(role, sv)
	k.Hang, k.Check = a.Hang, agentCheck(a.Hang, sv.HangCheck())
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
		s.table.Write(id, slots.AgentID{PID: int32(p.PID), Name: a.Name, Restarts: uint64(restarts), Flags: flags, Start: p.Start,
			Rise: uint64(a.Config.Rise)}.Record())
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

// agentRole is the keeper name of agent name.
func agentRole(name string) string { return "agent " + name }

// bump rewrites had1's own slot: its liveness for had2, the restarts of
// its processes, and the last reload's answer.
func (s *Supervisor) bump() {
	s.slotMu.Lock()
	defer s.slotMu.Unlock()
	s.counter++
	s.mu.Lock()
	d := slots.Daemon{Value: shm.OK, Interval: int64(s.cfg.Supervise.HangTimeout), Counter: s.counter, Start: s.start,
		Phase: s.phase, Text: s.text}
	copy(d.Extra[:], s.restarts[:])
	if s.reloadOK {
		d.Extra[slots.ExtraReloadOK] = 1
	}
	s.mu.Unlock()
	daemon.KeepRealtime() // threads the runtime made since the last bump
	d.Extra[slots.ExtraSched] = daemon.SchedWord()
	s.table.Write(shm.SlotHad1, d.Record())
}

// restoreReload carries the reload count and answer over from the had1
// before this one, so that a console waiting for the count to grow is not
// fooled by a restart.
func (s *Supervisor) restoreReload() {
	r, err := s.table.Read(shm.SlotHad1)
	if err != nil && !errors.Is(err, shm.ErrStale) || r.Type != shm.TypeDaemon {
		return
	}
	d := slots.ParseDaemon(r)
	s.restarts[slots.ExtraReloadGen] = d.Extra[slots.ExtraReloadGen]
	s.reloadOK = d.Extra[slots.ExtraReloadOK] == 1
	s.text = d.Text
}

// pingStart moves had1 to Running once the sender and the receiver are up:
// had2 does not start its state machine's clocks before that. It reports
// whether had1 runs.
func (s *Supervisor) pingStart() bool {
	s.mu.Lock()
	starting := s.phase == slots.PhaseStarting
	s.mu.Unlock()
	if !starting {
		return true
	}
	for _, role := range []string{"sender", "receiver"} {
		p := s.proc(role)
		slot := map[string]int{"sender": shm.SlotSender, "receiver": shm.SlotReceiver}[role]
		r, err := s.table.Read(slot)
		if p == nil || err != nil || int(r.PID) != p.PID {
			return false
		}
	}
	s.setPhase(slots.PhaseRunning)
	s.bump()
	s.table.Ring(shm.BellHad2) // had2 waits on its bell for this
	s.log.Info().Msg("comm processes up, PING start")
	if s.opt.PIDFile != "" {
		if err := WritePIDFile(s.opt.PIDFile, os.Getpid()); err != nil {
			s.log.Error().Err(err).Msg("pid file not written")
		}
	}
	// MAINPID: a had1 that had2 started replaces the unit's main process.
	s.notify(fmt.Sprintf("READY=1\nMAINPID=%d\nSTATUS=running", os.Getpid()))
	s.sdStatus = "running"
	return true
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
	s.bump()
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
	if err := shm.Remove(s.config().ShmPath); err != nil {
		s.log.Warn().Err(err).Msg("remove table failed")
	}
	s.log.Info().Msg("node stopped")
}

// failSafe releases the node's resources and tells the peer to take over,
// by had2 when it can, else by had1 itself, and stops everything.
func (s *Supervisor) failSafe(cause error) {
	s.setPhase(slots.PhaseFailSafe)
	s.bump()
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
	s.mu.Lock()
	rel, interval := s.opt.Release, s.cfg.Timers.Interval
	s.mu.Unlock()
	if rel != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.opt.StopTimeout)
		if err := rel.ReleaseAll(ctx); err != nil {
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
	time.Sleep(3 * interval) // let a few heartbeats carry the news
}

// stopComm stops the sender, the receiver, the admin server and the agents.
func (s *Supervisor) stopComm() {
	roles := []string{"sender", "receiver", "admin"}
	s.mu.Lock()
	for _, a := range s.opt.Agents {
		roles = append(roles, agentRole(a.Name))
	}
	s.mu.Unlock()
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
