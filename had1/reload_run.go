package had1

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// A reload (SIGHUP) applies a new configuration without a handover. It
// restarts the node's processes one at a time, each with the new
// configuration, waiting for each to be up before the next:
//
//  1. the sender and the receiver (SIGTERM): a few tens of milliseconds
//     without heartbeats, far below the peer's dead time; a restarted
//     sender goes on with the sequence numbers in its slot.
//  2. the agents that were added, removed or changed in any way (SIGTERM);
//     the others run on.
//  3. had2, last, with SIGKILL: SIGTERM would hand the groups over. The new
//     had2 restores the state machine from its snapshot in the table and
//     re-runs the tables it holds, which is idempotent, so a held VIP is
//     never removed.
//  4. had1 itself takes the new configuration in place (its keepers'
//     policy and timeouts, the agent list, the liveness period): it keeps
//     its PID, its pid file and its place as systemd's main process, and
//     its children stay its own, so none is ever a zombie nobody reaps
//     (which re-executing itself would have made of the exited ones).
//  5. the answer goes to had1's slot, and only then is the admin server
//     restarted (SIGTERM): it is the one waiting for that answer.
//
// A configuration that does not load is refused with nothing changed, and
// so is one that changes what a running node cannot (Refusals).

// stepTimeout bounds one restart of a reload: the old process's grace,
// the new one's start, and its first record in the table.
const stepTimeout = 10 * time.Second

// stopGrace is how long a process stopped for a reload may take to exit.
const stopGrace = 2 * time.Second

// reloadResult is a reload's outcome for the main loop.
type reloadResult struct {
	ok       bool
	applied  bool          // the new configuration is in place (ok, or applied with problems)
	liveness time.Duration // had1's new liveness period when applied
	took     time.Duration
}

// reload reads and applies the configuration and answers in had1's slot.
func (s *Supervisor) reload(ctx context.Context) reloadResult {
	began := time.Now()
	s.notify(reloadingState() + "STATUS=reloading")
	s.log.Info().Msg("reload requested")
	if s.opt.Reload == nil {
		return s.refuse(began, "reload: not supported by this had1")
	}
	next, err := s.opt.Reload()
	if err != nil {
		problems := ErrorList(err)
		for _, p := range problems {
			s.log.Error().Err(p).Msg("reload refused: configuration error")
		}
		return s.refuse(began, refusalText(problems))
	}
	s.mu.Lock()
	phase := s.phase
	cur := Loaded{Config: s.cfg, Agents: s.opt.Agents, Own: s.opt.Own, Peer: s.opt.Peer, Release: s.opt.Release}
	s.mu.Unlock()
	if phase != slots.PhaseRunning {
		return s.refuse(began, "reload refused: the node is still starting; reload once it runs")
	}
	r, _ := s.table.Read(shm.SlotSend)
	if why := Refusals(cur, next, slots.ParseSend(r).Held); len(why) > 0 {
		var problems []error
		for _, w := range why {
			s.log.Error().Str("problem", w).Msg("reload refused")
			problems = append(problems, errors.New(w))
		}
		return s.refuse(began, refusalText(problems))
	}
	for _, e := range next.Skipped {
		s.log.Warn().Err(e).Msg("agent skipped")
	}
	return s.apply(ctx, began, next)
}

// apply restarts the processes with next, in the order above.
func (s *Supervisor) apply(ctx context.Context, began time.Time, next Loaded) reloadResult {
	cfg, sv := next.Config, next.Config.Supervise
	roles := map[string]Role{}
	for _, r := range s.roles(cfg) {
		roles[r.Name] = r
	}
	var problems []string
	restart := func(name string, stop syscall.Signal, running bool) {
		if ctx.Err() != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, stepTimeout)
		defer cancel()
		role := roles[name]
		k := s.keeperOf(name)
		if k == nil {
			problems = append(problems, name+": not kept")
			return
		}
		p, err := k.Restart(sctx, Change{Role: role, Policy: policy(sv), Hang: sv.HangTimeout, Check: sv.HangCheck(),
			Stop: stop, Grace: stopGrace})
		if err == nil {
			err = s.waitUp(sctx, role.Slot, p.PID, running)
		}
		if err != nil {
			s.log.Error().Err(err).Str("role", name).Msg("reload: process not restarted")
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
	restart("sender", syscall.SIGTERM, false)
	restart("receiver", syscall.SIGTERM, false)
	agents := s.reloadAgents(ctx, next.Agents, sv)
	restart("had2", syscall.SIGKILL, true)

	interrupted := ctx.Err() != nil
	s.mu.Lock()
	s.cfg, s.opt.Own, s.opt.Peer, s.opt.Release = cfg, next.Own, next.Peer, next.Release
	s.mu.Unlock()
	daemon.SetRealtime(cfg.Realtime, "had1", s.log) // had1 keeps running: its own [realtime] applies in place

	ok := len(problems) == 0 && !interrupted
	text := "reload applied: sender, receiver and had2 restarted, admin next"
	if agents != "" {
		text += "; agents " + agents
	}
	switch {
	case interrupted:
		text = "reload cut short by a stop"
	case !ok:
		text = "reload applied with problems: " + strings.Join(problems, "; ")
	}
	took := time.Since(began)
	s.answer(ok, text)
	s.log.Info().Bool("ok", ok).Str("answer", text).Dur("took", took).Msg("configuration reloaded")
	// The admin server waits for the answer above: restarting it before
	// would cut its reply off.
	restart("admin", syscall.SIGTERM, false)
	return reloadResult{ok: ok, applied: true, liveness: sv.Liveness, took: took}
}

// reloadAgents stops the agents that were removed or changed, clears
// their slots (so neither had2 nor the console reads a stale verdict under
// a name that is gone), and starts the added and changed ones. It returns
// a summary such as "+disk -web ~tcp" ("" when none changed).
func (s *Supervisor) reloadAgents(ctx context.Context, next []Agent, sv config.Supervise) string {
	s.mu.Lock()
	cur := s.opt.Agents
	s.mu.Unlock()
	_, stopped, started := AgentChanges(cur, next)
	changed := map[string]bool{}
	for _, a := range started {
		changed[a.Name] = true
	}
	var sum []string
	for _, a := range stopped {
		name := agentRole(a.Name)
		if k := s.keeperOf(name); k != nil {
			sctx, cancel := context.WithTimeout(ctx, stepTimeout)
			if err := k.Retire(sctx, syscall.SIGTERM, stopGrace); err != nil {
				s.log.Error().Err(err).Str("agent", a.Name).Msg("reload: agent not stopped")
			}
			cancel()
		}
		s.mu.Lock()
		delete(s.keepers, name)
		delete(s.procs, name)
		s.mu.Unlock()
		id, result := slots.AgentSlots(a.Index)
		s.table.Write(id, shm.Record{})
		s.table.Write(result, shm.Record{})
		if !changed[a.Name] {
			sum = append(sum, "-"+a.Name)
		}
	}
	was := map[string]bool{}
	for _, a := range cur {
		was[a.Name] = true
	}
	for _, a := range started {
		s.launch(s.agentKeeper(a, sv))
		if was[a.Name] {
			sum = append(sum, "~"+a.Name)
		} else {
			sum = append(sum, "+"+a.Name)
		}
	}
	s.mu.Lock()
	s.opt.Agents = next
	s.mu.Unlock()
	return strings.Join(sum, " ")
}

// refuse answers a reload that changed nothing.
func (s *Supervisor) refuse(began time.Time, text string) reloadResult {
	s.answer(false, text)
	took := time.Since(began)
	s.log.Error().Str("answer", text).Dur("took", took).Msg("reload refused, running configuration kept")
	return reloadResult{took: took}
}

// answer records a reload's answer in had1's slot: the count grows, so a
// console waiting for it knows it is there.
func (s *Supervisor) answer(ok bool, text string) {
	s.mu.Lock()
	s.restarts[slots.ExtraReloadGen]++
	s.reloadOK, s.text = ok, text
	s.mu.Unlock()
	s.bump()
}

// reloadDone finishes a reload in the main loop: the new liveness period,
// and READY=1 for the service manager, which waits for it after RELOADING=1.
func (s *Supervisor) reloadDone(res reloadResult, tick *daemon.Grid) {
	if res.applied && res.liveness > 0 {
		tick.Reset(res.liveness)
	}
	s.sdStatus = ""
	s.notify("READY=1")
	s.updateStatus()
}

func (s *Supervisor) keeperOf(name string) *Keeper {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keepers[name]
}

// waitUp waits until slot names pid (and, when running is set, says it
// runs): the restarted process is up and writing.
func (s *Supervisor) waitUp(ctx context.Context, slot, pid int, running bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := s.table.Read(slot)
		if (err == nil || errors.Is(err, shm.ErrStale)) && int(r.PID) == pid &&
			(!running || slots.ParseDaemon(r).Phase == slots.PhaseRunning) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for pid %d in its slot: %w", pid, ctx.Err())
		case <-tick.C:
		}
	}
}
