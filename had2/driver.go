// Package had2 is the node's second monitor daemon (SPEC §1, §4): it reads
// the shared table, runs the N/T/R/D state machine (package fsm), has the
// sender carry its messages, runs the TAKEOVER and RECOVER tables, and
// supervises had1. The state machine's snapshot lives in the table, so a
// restarted had2 carries on where its predecessor stopped and the peer
// notices nothing.
package had2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/had1"
	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
	"github.com/hadcluster/had/sleeper"
)

// ErrFailSafe: the machine could not guarantee safety and the node must stop.
var ErrFailSafe = errors.New("had2: failed safe")

// Table is one resource table as the driver runs it.
type Table interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Reannounce(ctx context.Context) error
}

// Options is what Run needs.
type Options struct {
	Config     *config.Config
	ConfigPath string
	Table      *shm.Table
	Own        Table // this node's RECOVER table; nil when it owns no group
	Peer       Table // this node's TAKEOVER table; nil when the peer owns no group
	// Fence powers the peer off; nil when no fence command is configured.
	Fence func(ctx context.Context) error
	// Reconcile removes addresses this node holds but does not own; run
	// once on a fresh start, before the machine.
	Reconcile func(ctx context.Context) error
	Log       zerolog.Logger
	Stdout    io.Writer // output of a restarted had1
	Stderr    io.Writer
	// SuperviseHad1 turns the had1 keeper off in unit tests.
	SuperviseHad1 bool
	// WatchHad1Only: another supervisor (systemd) restarts had1; had2 only
	// watches, and hands everything over when had1 stays gone for
	// Had1Absence.
	WatchHad1Only bool
	Had1Absence   time.Duration
}

// driver is one running had2.
type driver struct {
	opt      Options
	cfg      *config.Config
	t        *shm.Table
	log      zerolog.Logger
	m        *fsm.Machine
	feed     peerFeed
	send     slots.Send
	sendRec  slots.Send // what SlotSend holds now
	snapGen  uint64
	lastSnap []byte
	results  chan fsm.Event
	sleep    *sleeper.Sleeper // woken by BellHad2 and by the end of ctx
	own      *daemon.Slot     // had2's liveness record, bumped from the loop
	lastAdm  uint64
	stopping bool
	failed   bool

	// agents
	startCounters map[string]uint64 // the agents' counters when the last table start completed
	health        fsm.Health
	healthFed     bool
	agents        map[string]agentView // last seen, to log changes
	pathsUp       map[int]bool         // last seen, to raise path events
}

// Extra words of had2's Daemon slot beyond the reply.
const extraAdminSeen = 2 // the last admin request consumed

// Run is had2's life. It returns nil after a graceful stop (ctx ended and
// every group was handed over), ErrFailSafe when the node must stop.
func Run(ctx context.Context, opt Options) error {
	d := &driver{opt: opt, cfg: opt.Config, t: opt.Table, log: opt.Log, results: make(chan fsm.Event, 16)}
	d.own, _ = daemon.NewSlot(d.t, shm.SlotHad2, d.cfg.Supervise.Liveness, d.cfg.Supervise.HangTimeout)
	d.own.Rec.Phase = slots.PhaseStarting
	d.lastAdm = d.own.Rec.Extra[extraAdminSeen]
	sl, err := d.t.BellSleeper(shm.BellHad2)
	if err != nil {
		return fmt.Errorf("had2: %w", err)
	}
	defer sl.Close()
	d.sleep = sl
	// Waking the loop when ctx ends starts the handover at once, not at
	// the next liveness tick.
	stop := context.AfterFunc(ctx, sl.Wake)
	defer stop()
	// The last admin reply's text goes with its ID, which NewSlot kept.
	if r, err := d.t.Read(shm.SlotHad2); r.Type == shm.TypeDaemon && !errors.Is(err, shm.ErrTorn) {
		d.own.Rec.Text = slots.ParseDaemon(r).Text
	}
	if r, err := d.t.Read(shm.SlotSend); err == nil {
		d.send = slots.ParseSend(r)
		d.sendRec = d.send
	}
	switch {
	case opt.WatchHad1Only:
		go d.watchHad1(ctx)
	case opt.SuperviseHad1:
		go d.superviseHad1(ctx)
	}

	if b, gen, ok := slots.ReadSnapshot(d.t); ok {
		m, err := fsm.Restore(d.fsmConfig(), b, time.Duration(shm.Now()))
		if err == nil {
			d.m, d.snapGen, d.lastSnap = m, gen, b
			d.log.Info().Str("state", m.State().String()).Str("phase", m.Phase()).Msg("state machine restored")
		} else {
			d.log.Error().Err(err).Msg("snapshot unusable, starting afresh")
		}
	}
	if d.m == nil {
		if err := d.freshStart(ctx); err != nil {
			return err
		}
	}
	d.own.Rec.Phase = slots.PhaseRunning
	return d.loop(ctx)
}

func (d *driver) fsmConfig() fsm.Config {
	c := d.cfg
	preferred := c.Primary
	if c.Mode == config.Symmetric || preferred == 0 {
		preferred = 1
	}
	return fsm.Config{
		Me: c.NodeID, Peer: c.PeerID, OwnGroup: c.OwnGroup(), PeerGroup: c.PeerGroup(), Preferred: preferred,
		AutoFailback: c.Failback != config.FailbackManual,
		Initdead:     c.Timers.Initdead, AckTimeout: c.Timers.AckTimeout, Retransmit: c.Timers.Retransmit,
		GiveUpWait: 10 * c.Timers.Deadtime, RetryAfter: max(time.Second, 4*c.Timers.Deadtime),
		Fence: d.opt.Fence != nil, FenceRequired: c.Fence.Required,
	}
}

// freshStart waits for had1's "PING start" (the comm processes are up, so
// the initdead clock means something), reconciles addresses, and makes a
// new machine.
func (d *driver) freshStart(ctx context.Context) error {
	for d.had1Phase() != slots.PhaseRunning {
		d.bump(true)
		if ctx.Err() != nil {
			return nil
		}
		d.sleep.Sleep(shm.Now() + int64(d.cfg.Supervise.Liveness))
	}
	if d.opt.Reconcile != nil {
		if err := d.opt.Reconcile(ctx); err != nil {
			d.log.Error().Err(err).Msg("start-up reconciliation failed")
		}
	}
	d.m = fsm.New(d.fsmConfig(), time.Duration(shm.Now()))
	d.log.Info().Msg("state machine started")
	return nil
}

func (d *driver) had1Phase() slots.Phase {
	r, err := d.t.Read(shm.SlotHad1)
	if err != nil && !errors.Is(err, shm.ErrStale) {
		return slots.PhaseNone
	}
	return slots.ParseDaemon(r).Phase
}

// loop runs the machine: gather events, step, save the snapshot, carry out
// the effects, publish, wait for the bell or the next deadline.
func (d *driver) loop(ctx context.Context) error {
	d.feed.overtime = false
	for {
		now := time.Duration(shm.Now())
		var effects []fsm.Effect
		step := func(ev fsm.Event) {
			effects = append(effects, d.m.Step(now, ev)...)
		}
		if (ctx.Err() != nil || d.had1Phase() == slots.PhaseFailSafe) && !d.stopping {
			d.stopping = true
			d.log.Info().Msg("shutting down: handing over")
			step(fsm.Shutdown{})
		}
	drain:
		for {
			select {
			case ev := <-d.results:
				if td, ok := ev.(fsm.TableDone); ok {
					d.tableEvent(td)
					if td.Start && td.OK {
						d.startCounters = counters(readAgents(d.t))
						d.healthFed = false // report the agents afresh: see fsm's tableDone
					}
				}
				if _, ok := ev.(fsm.Shutdown); ok {
					d.stopping = true // had1 cannot be kept: hand over, then end
				}
				step(ev)
			default:
				break drain
			}
		}
		if ev, ok := d.adminEvent(); ok {
			step(ev)
		}
		for _, ev := range d.feed.read(d.t) {
			step(ev)
		}
		if h, changed := d.agentHealth(); changed {
			step(h)
		}
		d.pathEvents()
		if now >= d.m.NextWake() || len(effects) == 0 {
			step(fsm.Tick{})
		}
		d.saveSnapshot()
		for _, e := range effects {
			d.carryOut(ctx, e)
		}
		d.publish()
		d.bump(false)
		if d.failed {
			return ErrFailSafe
		}
		if d.stopping && d.m.Stopped() {
			d.own.Rec.Phase = slots.PhaseStopping
			d.bump(true)
			d.log.Info().Msg("every group handed over, had2 stopped")
			return nil
		}
		// A Ring since the loop began left a byte in the bell's pipe: the
		// Sleep returns at once, and nothing is missed.
		wake := min(int64(d.m.NextWake()), d.own.Next())
		d.sleep.Sleep(max(wake, shm.Now()+int64(100*time.Microsecond)))
	}
}

// agentHealth reads the agents' slots, logs every change of an agent's
// verdict, and returns the machine's Health when it changed.
func (d *driver) agentHealth() (fsm.Health, bool) {
	views := readAgents(d.t)
	if d.agents == nil {
		d.agents = map[string]agentView{}
	}
	for _, v := range views {
		old, seen := d.agents[v.Name]
		if !seen || old.Fresh != v.Fresh || old.Value != v.Value {
			ev := d.log.Info()
			if v.Fresh && v.Value >= shm.Warning {
				ev = d.log.Warn()
			}
			value := "no result"
			if v.Fresh {
				value = v.Value.String()
			}
			ev.Str("agent", v.Name).Str("value", value).Str("text", v.Text).Bool("critical", v.Critical).
				Bool("service", v.Service).Msg("agent status changed")
			if seen || v.Fresh && v.Value != shm.OK {
				level := shm.Information
				if v.Fresh && v.Value >= shm.Warning {
					level = v.Value
				}
				d.event(slots.Event{Kind: slots.EventAgent, Level: level,
					Text: fmt.Sprintf("agent %s: %s %s", v.Name, value, v.Text)})
			}
		}
		d.agents[v.Name] = v
	}
	h := evaluate(views, d.startCounters)
	if d.healthFed && h == d.health {
		return h, false
	}
	d.health, d.healthFed = h, true
	return h, true
}

// adminEvent returns the operator's newest request, once.
func (d *driver) adminEvent() (fsm.Event, bool) {
	r, err := d.t.Read(shm.SlotAdmin)
	if err != nil || r.Type != shm.TypeAdmin {
		return nil, false
	}
	a := slots.ParseAdmin(r)
	if a.ID <= d.lastAdm {
		return nil, false
	}
	d.lastAdm = a.ID
	d.own.Rec.Extra[extraAdminSeen] = a.ID
	d.log.Info().Uint64("id", a.ID).Str("command", fsm.AdminCmd(a.Cmd).String()).Msg("admin request")
	return fsm.Admin{ID: a.ID, Cmd: fsm.AdminCmd(a.Cmd)}, true
}

// saveSnapshot writes the machine's state before its effects are carried
// out: a had2 killed in between restarts from the new state and redoes
// what may not have happened (starts and stops are idempotent, and the
// peer retransmits what it did not get answered).
func (d *driver) saveSnapshot() {
	b := d.m.Snapshot()
	if string(b) == string(d.lastSnap) {
		return
	}
	d.snapGen++
	if err := slots.WriteSnapshot(d.t, d.snapGen, b); err != nil {
		d.log.Error().Err(err).Msg("snapshot not saved")
		return
	}
	d.lastSnap = b
}

func (d *driver) carryOut(ctx context.Context, e fsm.Effect) {
	switch e.Kind {
	case fsm.EffSend:
		d.send.Push(slots.Control{Kind: e.Msg, Flags: e.Flags, ReqID: e.ReqID})
		d.log.Info().Str("msg", e.Msg.String()).Uint32("req", e.ReqID).Msg("message queued")
	case fsm.EffStart, fsm.EffStop:
		d.runTable(e.Group, e.Kind == fsm.EffStart)
	case fsm.EffFence:
		d.fence()
	case fsm.EffReannounce:
		if t := d.tableOf(e.Group); t != nil {
			go func() {
				if err := t.Reannounce(context.Background()); err != nil {
					d.log.Error().Err(err).Msg("re-announce failed")
				}
			}()
		}
	case fsm.EffTransition:
		d.log.Info().Str("from", e.From.String()).Str("to", e.To.String()).Str("reason", e.Text).
			Str("held", d.m.Held().String()).Msg("state changed")
		d.event(slots.Event{Kind: slots.EventTransition, Level: shm.Information, From: e.From, To: e.To,
			Text: fmt.Sprintf("state %v → %v (%s), holding %v", e.From, e.To, e.Text, d.m.Held())})
	case fsm.EffAlert:
		lvl := map[fsm.Level]zerolog.Level{fsm.LevelInfo: zerolog.InfoLevel, fsm.LevelWarning: zerolog.WarnLevel, fsm.LevelError: zerolog.ErrorLevel}[e.Level]
		d.log.WithLevel(lvl).Str("event", e.Text).Msg("alert")
		value := map[fsm.Level]shm.Value{fsm.LevelInfo: shm.Information, fsm.LevelWarning: shm.Warning, fsm.LevelError: shm.Error}[e.Level]
		d.event(slots.Event{Kind: slots.EventAlert, Level: value, Text: e.Text})
	case fsm.EffAdminReply:
		d.own.Rec.Extra[slots.ExtraReplyID] = e.Admin
		d.own.Rec.Extra[slots.ExtraReplyOK] = 0
		if e.OK {
			d.own.Rec.Extra[slots.ExtraReplyOK] = 1
		}
		d.own.Rec.Text = e.Text
		d.log.Info().Uint64("id", e.Admin).Bool("ok", e.OK).Str("answer", e.Text).Msg("admin reply")
		d.event(slots.Event{Kind: slots.EventAdmin, Level: shm.Information, Text: fmt.Sprintf("admin request #%d: %s", e.Admin, e.Text)})
		d.bump(true)
	case fsm.EffFailSafe:
		d.log.Error().Str("reason", e.Text).Msg("failing safe")
		d.own.Rec.Phase, d.own.Rec.Value, d.own.Rec.Text = slots.PhaseFailSafe, shm.Error, e.Text
		d.bump(true)
		d.failed = true
	}
}

func (d *driver) tableOf(g wire.Groups) Table {
	switch g {
	case wire.GroupOf(d.cfg.NodeID):
		return d.opt.Own
	case wire.GroupOf(d.cfg.PeerID):
		return d.opt.Peer
	}
	return nil
}

// runTable runs one table in the background; its end wakes the loop and
// is an event (with its duration, for the console and /metrics).
func (d *driver) runTable(g wire.Groups, start bool) {
	t := d.tableOf(g)
	began := time.Now()
	go func() {
		var err error
		switch {
		case t == nil:
			err = fmt.Errorf("no table for group %v", g)
		case start:
			err = t.Start(context.Background())
		default:
			err = t.Stop(context.Background())
		}
		done := fsm.TableDone{Group: g, Start: start, OK: err == nil, Took: time.Since(began)}
		if err != nil {
			done.Err = err.Error()
		}
		d.results <- done
		d.t.Ring(shm.BellHad2)
	}()
}

func (d *driver) fence() {
	go func() {
		err := d.opt.Fence(context.Background())
		done := fsm.FenceDone{OK: err == nil}
		if err != nil {
			done.Err = err.Error()
		}
		d.results <- done
		d.t.Ring(shm.BellHad2)
	}()
}

// publish writes SlotSend when the heartbeat content or the queue changed,
// and wakes the sender.
func (d *driver) publish() {
	d.send.State, d.send.Held, d.send.Flags = d.m.State(), d.m.Held(), d.m.Flags()
	if d.send == d.sendRec {
		return
	}
	d.t.Write(shm.SlotSend, d.send.Record())
	d.sendRec = d.send
	d.t.Ring(shm.BellSender)
}

// event appends e to the events ring for the admin server (alerts, the
// console's recent transitions), counts it in had2's own slot, and rings
// the admin server's bell. had2 never waits for an alert to go out.
func (d *driver) event(e slots.Event) {
	n := d.own.Rec.Extra[slots.ExtraEvents] + 1
	e.N, e.Time = n, time.Now().UnixNano()
	d.t.Write(slots.EventSlot(n), e.Record())
	d.own.Rec.Extra[slots.ExtraEvents] = n
	d.bump(true)
	d.t.Ring(shm.BellAdmin)
}

// tableEvent records a table run.
func (d *driver) tableEvent(td fsm.TableDone) {
	op, level, text := "stop", shm.Information, "done"
	if td.Start {
		op = "start"
	}
	if !td.OK {
		level, text = shm.Error, "failed: "+td.Err
	}
	d.event(slots.Event{Kind: slots.EventTable, Level: level, Took: int64(td.Took), Start: td.Start,
		Text: fmt.Sprintf("table of %v %s %s in %v", td.Group, op, text, td.Took.Round(10*time.Microsecond))})
}

// pathEvents turns heartbeat paths going down or up (the receiver's path
// slots) into events: losing one path is an alert, never a takeover.
func (d *driver) pathEvents() {
	for i := 0; i < len(d.cfg.UDP)+len(d.cfg.Serial) && i < shm.MaxPaths; i++ {
		r, err := d.t.Read(shm.SlotPath0 + i)
		if err != nil && !errors.Is(err, shm.ErrStale) || r.Type != shm.TypePath {
			continue
		}
		p := slots.ParsePath(r)
		if d.pathsUp == nil {
			d.pathsUp = map[int]bool{}
		}
		was, known := d.pathsUp[i]
		d.pathsUp[i] = p.Up
		switch {
		case known && was && !p.Up:
			d.event(slots.Event{Kind: slots.EventPath, Level: shm.Warning, Text: fmt.Sprintf("heartbeat path %s down", p.Name)})
		case known && !was && p.Up:
			d.event(slots.Event{Kind: slots.EventPath, Level: shm.Information, Text: fmt.Sprintf("heartbeat path %s up again", p.Name)})
		}
	}
}

// bump rewrites had2's own slot from the loop: at once when force (the
// record changed), else when due on the daemons' grid, so a hung loop
// shows as hung.
func (d *driver) bump(force bool) {
	if force {
		d.own.Write(shm.Now())
	} else {
		d.own.Bump(shm.Now())
	}
}

// watchHad1 is had2's side of the mutual supervision when systemd
// restarts had1: had1 gone (its slot not rewritten) for Had1Absence means
// nobody keeps the node's processes running, so hand everything over.
func (d *driver) watchHad1(ctx context.Context) {
	tick := daemon.NewGrid(d.cfg.Supervise.Liveness)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r, err := d.t.Read(shm.SlotHad1)
		fresh := (err == nil || errors.Is(err, shm.ErrStale)) && shm.Now()-r.Stamp <= int64(d.opt.Had1Absence)
		if !fresh && d.had1Phase() != slots.PhaseStopping {
			d.log.Error().Dur("absent", d.opt.Had1Absence).Msg("had1 gone and not restarted by its supervisor")
			d.results <- fsm.Shutdown{}
			d.t.Ring(shm.BellHad2)
			return
		}
	}
}

// superviseHad1 restarts had1 when it dies or hangs, unless the node is
// stopping on purpose.
func (d *driver) superviseHad1(ctx context.Context) {
	sv := d.cfg.Supervise
	k := &had1.Keeper{
		Role: had1.Role{Name: "had1", Slot: shm.SlotHad1,
			Argv: []string{filepath.Join(d.cfg.BinDir, "had1"), "--config", d.opt.ConfigPath}},
		Table: d.t,
		Policy: had1.Policy{BackoffMin: sv.BackoffMin, BackoffMax: sv.BackoffMax, MaxRestarts: sv.MaxRestarts,
			Window: sv.RestartWindow, Stable: 10 * time.Second},
		Hang: sv.HangTimeout, Check: sv.HangCheck(), Log: d.log, Stdout: d.opt.Stdout, Stderr: d.opt.Stderr,
		Halt: func() bool {
			p := d.had1Phase()
			return d.stopping || p == slots.PhaseStopping || p == slots.PhaseFailSafe
		},
	}
	if err := k.Run(ctx); err != nil {
		// had1 cannot be kept running: no supervisor for the rest of the
		// node, so hand everything over and stop.
		d.log.Error().Err(err).Msg("had1 keeps failing")
		d.results <- fsm.Shutdown{}
		d.t.Ring(shm.BellHad2)
	}
}
