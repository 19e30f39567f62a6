package fsm

import (
	"fmt"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

// phase is where the machine is in the seed's protocol. The published
// N/T/R/D state is derived from it and from the groups held.
type phase uint8

const (
	phBoot       phase = iota + 1 // D: just started; waiting for the peer or initdead
	phStandby                     // D: holding nothing on purpose (or releasing)
	phRecovering                  // R: RECOVER sent; then starting the own group
	phActive                      // N or T
	phRequesting                  // TAKEREQUEST sent; waiting for TAKEACK
	phFencing                     // the fence command runs
	phFailed                      // a stop failed: safety can't be guaranteed
)

var phaseNames = [...]string{"", "boot", "standby", "recovering", "active", "requesting", "fencing", "failed"}

func (p phase) String() string {
	if int(p) < len(phaseNames) && p != 0 {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// request is this node's outstanding TAKEREQUEST or RECOVER.
type request struct {
	kind     wire.Kind // 0 (OK) when there is none
	id       uint32
	flags    wire.Flags
	deadline time.Duration // TAKEREQUEST: act alone after this if the peer is silent
	lastSent time.Duration
	sends    uint32
	acked    bool  // RECOVER: RECOVERACK arrived
	from     phase // where to return if the request is cancelled
	alerted  bool  // the "still waiting" alert was given
}

// pendingAck is an ack owed to the peer, sent once release is no longer held.
type pendingAck struct {
	kind    wire.Kind
	id      uint32
	release wire.Groups
}

// notice is a TAKEOVER being retransmitted until the peer holds what we gave.
type notice struct {
	id       uint32
	groups   wire.Groups
	flags    wire.Flags
	until    time.Duration
	lastSent time.Duration
}

// peerView is what the latest frame from the peer said.
type peerView struct {
	heard bool // at least one frame since this machine started
	alive bool // heard, and no OVERTIME since the last frame
	state wire.State
	held  wire.Groups
	flags wire.Flags
	epoch uint64
	seq   uint64
}

// adminWait is an operator request waiting for its outcome.
type adminWait struct {
	id  uint64
	cmd AdminCmd
}

// Machine is one node's state machine. It is not safe for concurrent use.
type Machine struct {
	cfg              Config
	own, peerG, all  wire.Groups
	now              time.Duration
	phase            phase
	label            wire.State
	want, permit, on wire.Groups
	jobGroup         wire.Groups // the group whose table runs now; 0 when idle
	redo             wire.Groups // started when a restart cut the table short: maybe half up
	jobStart         bool
	failed           wire.Groups // groups whose start failed; not retried before retryAt
	retryAt          time.Duration
	fenceRetryAt     time.Duration
	fenceEpoch       uint64 // the peer's boot epoch when the fence command started
	deadEpoch        uint64 // the peer's boot epochs up to this one were fenced: their frames are stale
	hold             bool   // standby by choice: do not recover on our own
	agentsOK         bool
	svcErr           bool // a critical service agent reports ERROR now
	serviceFail      bool // it did while this node ran its own group; sticks until the agent is OK
	peerDead         bool // took over from a silent peer; cleared when it is heard
	bootAt           time.Duration
	nextID           uint32
	req              request
	acks             []pendingAck
	notice           *notice
	peer             peerView
	handledTakeReq   uint32 // highest peer request ids answered, this peer epoch
	handledRecover   uint32
	handledTakeover  uint32
	lastAckKind      wire.Kind
	lastAckID        uint32
	conflict         wire.Groups   // groups both nodes held at the last frame
	unservedSince    time.Duration // see unservedFor; -1 while every group is served
	stopping         bool          // Shutdown: release everything, then do nothing
	admin            *adminWait
	out              []Effect
}

// New returns a machine for a node that has just booted: it holds nothing
// and waits for the peer (or initdead).
func New(cfg Config, now time.Duration) *Machine {
	m := &Machine{cfg: cfg, phase: phBoot, label: wire.StateDown, agentsOK: true, bootAt: now, now: now, unservedSince: -1}
	m.derive()
	return m
}

func (m *Machine) derive() {
	if m.cfg.OwnGroup {
		m.own = wire.GroupOf(m.cfg.Me)
	}
	if m.cfg.PeerGroup {
		m.peerG = wire.GroupOf(m.cfg.Peer)
	}
	m.all = m.own | m.peerG
}

// State returns the published N/T/R/D state.
func (m *Machine) State() wire.State { return m.label }

// Held returns the groups this node holds or is starting or stopping: what
// its frames must tell the peer, erring on the side of "held".
func (m *Machine) Held() wire.Groups { return m.on | m.jobGroup }

// Flags returns the flags for this node's frames.
func (m *Machine) Flags() wire.Flags {
	var f wire.Flags
	if !m.healthy() {
		f |= wire.FlagUnhealthy
	}
	if m.stopping {
		f |= wire.FlagStopping
	}
	if m.serviceFail {
		f |= wire.FlagServiceFailed
	}
	return f
}

// Stopped reports whether a Shutdown has released everything.
func (m *Machine) Stopped() bool { return m.stopping && m.Held() == 0 && !m.Busy() }

// Phase names the protocol phase, for status displays.
func (m *Machine) Phase() string { return m.phase.String() }

// Busy reports whether a table or fence command is running.
func (m *Machine) Busy() bool { return m.jobGroup != 0 || m.phase == phFencing }

func (m *Machine) healthy() bool { return m.agentsOK && m.failed == 0 }

// Step feeds one event at time now and returns what the driver must do, in
// order. The returned slice is reused by the next call.
func (m *Machine) Step(now time.Duration, ev Event) []Effect {
	if now > m.now {
		m.now = now
	}
	m.out = m.out[:0]
	if m.phase == phFailed {
		return m.out
	}
	switch ev := ev.(type) {
	case Tick:
	case Heard:
		m.heard(ev.Msg)
	case PeerSilent:
		if m.peer.alive {
			m.alert(LevelWarning, "peer silent on every path (OVERTIME)")
		}
		m.peer.alive = false
	case TableDone:
		m.tableDone(ev)
	case FenceDone:
		m.fenceDone(ev)
	case Health:
		if ev.OK != m.agentsOK {
			m.agentsOK = ev.OK
			if ev.OK {
				m.alert(LevelInfo, "critical node agents healthy again")
			} else {
				m.alert(LevelError, "a critical node agent reports ERROR: this node is unfit")
			}
		}
		if ev.ServiceFailed != m.svcErr {
			m.svcErr = ev.ServiceFailed
			if m.svcErr && m.running() != 0 {
				m.alert(LevelError, "a critical service agent reports ERROR")
			}
		}
		m.markServiceFail()
	case Admin:
		if m.stopping {
			m.replyTo(ev.ID, false, "refused: the node is shutting down")
			break
		}
		m.adminCmd(ev)
	case Shutdown:
		if !m.stopping {
			m.stopping = true
			m.giveUp(wire.FlagStopping, "shutting down: handing every group to the peer")
			m.hold = true
		}
	}
	// Each pass may unblock the next (a release ends, so an ack goes out,
	// so standby may recover); a handful of passes reaches a fixed point.
	for i := 0; i < 4; i++ {
		before := m.fingerprint()
		m.timers()
		m.decide()
		m.reconcile()
		if m.fingerprint() == before {
			break
		}
	}
	m.publish()
	m.replyAdmin()
	return m.out
}

// fingerprint summarises the fields the passes change.
func (m *Machine) fingerprint() [6]uint64 {
	return [6]uint64{uint64(m.phase), uint64(m.want)<<16 | uint64(m.permit), uint64(m.on)<<16 | uint64(m.jobGroup),
		uint64(len(m.acks)), uint64(m.req.kind)<<32 | uint64(m.req.id), uint64(len(m.out))}
}

// NextWake returns the time by which the machine wants a Tick.
func (m *Machine) NextWake() time.Duration {
	next := m.now + time.Second
	at := func(t time.Duration) {
		if t < next {
			next = t
		}
	}
	switch m.phase {
	case phBoot:
		at(m.bootAt + m.cfg.Initdead)
	case phRequesting:
		at(m.req.deadline)
		at(m.req.lastSent + m.resendEvery())
	case phRecovering:
		if !m.req.acked {
			at(m.req.lastSent + m.resendEvery())
		}
	}
	if m.notice != nil {
		at(m.notice.lastSent + m.cfg.Retransmit)
		at(m.notice.until)
	}
	if m.failed != 0 {
		at(m.retryAt)
	}
	if m.fenceRetryAt > m.now {
		at(m.fenceRetryAt)
	}
	if m.unservedSince >= 0 {
		at(m.unservedSince + m.cfg.RetryAfter)
	}
	if next < m.now {
		next = m.now
	}
	return next
}

// resendEvery backs control retransmissions off: at the configured rate for
// the first second or so, then down to twice a second, so a peer that is
// busy running a long table is not flooded.
func (m *Machine) resendEvery() time.Duration {
	d := m.cfg.Retransmit
	for n := m.req.sends; n > 50 && d < 500*time.Millisecond; n /= 2 {
		d *= 2
	}
	return d
}

func (m *Machine) heard(msg Message) {
	p := &m.peer
	switch {
	case msg.Epoch <= m.deadEpoch:
		return // sent by a boot of the peer that was since fenced
	case msg.Epoch < p.epoch:
		return // a frame from before the peer's last boot
	case msg.Epoch == p.epoch && p.heard && msg.Seq <= p.seq:
		return // older than what we already know
	case msg.Epoch > p.epoch:
		if p.heard {
			m.alert(LevelInfo, "peer restarted (new boot epoch)")
		}
		p.epoch = msg.Epoch
		m.handledTakeReq, m.handledRecover, m.handledTakeover = 0, 0, 0
		m.lastAckKind, m.lastAckID = wire.OK, 0
	}
	if !p.alive && p.heard {
		m.alert(LevelInfo, "peer heard again")
	}
	p.seq, p.heard, p.alive = msg.Seq, true, true
	p.state, p.held, p.flags = msg.State, msg.Held, msg.Flags
	m.peerDead = false
	m.resolveConflicts()

	switch msg.Kind {
	case wire.TakeRequest:
		m.onTakeRequest(msg)
	case wire.TakeAck:
		if m.phase == phRequesting && m.req.kind == wire.TakeRequest && msg.ReqID == m.req.id {
			m.takeAll(false, "peer acknowledged TAKEREQUEST")
		}
	case wire.Takeover:
		if msg.ReqID > m.handledTakeover {
			m.handledTakeover = msg.ReqID
			m.onTakeoverNotice(msg)
		}
	case wire.Recover:
		m.onRecover(msg)
	case wire.RecoverAck:
		if m.phase == phRecovering && m.req.kind == wire.Recover && msg.ReqID == m.req.id && !m.req.acked {
			m.req.acked = true
			m.permit |= m.own
			m.want |= m.own
		}
	}
}

// resolveConflicts applies the home rule when both nodes hold a group,
// which only a takeover from a peer wrongly declared dead can cause: the
// group's home node keeps it (and re-announces it once the other let go),
// the other node releases it.
func (m *Machine) resolveConflicts() {
	both := m.peer.held & m.Held()
	if both.Any(m.peerG) && m.want.Any(m.peerG) {
		m.alert(LevelError, "split brain: both nodes hold the peer's group; releasing it (home rule)")
		m.want &^= m.peerG
		m.permit &^= m.peerG
	}
	if both.Any(m.own) && !m.conflict.Any(m.own) {
		m.alert(LevelError, "split brain: both nodes hold this node's group; keeping it (home rule)")
	}
	cleared := m.conflict &^ both
	if cleared.Any(m.own) && m.on.Any(m.own) {
		m.emit(Effect{Kind: EffReannounce, Group: m.own})
	}
	m.conflict = both
}

func (m *Machine) onTakeRequest(msg Message) {
	id := msg.ReqID
	if id <= m.handledTakeReq {
		m.resendAck(wire.TakeAck, id)
		return
	}
	if m.phase == phRequesting && m.req.kind == wire.TakeRequest && m.cfg.Preferred == m.cfg.Me {
		return // crossing requests: the preferred node wins; the peer yields to ours
	}
	m.handledTakeReq = id
	m.cancelRequest()
	m.notice = nil
	m.want, m.permit = 0, 0
	m.owe(pendingAck{kind: wire.TakeAck, id: id, release: m.all})
	m.hold = msg.Flags&wire.FlagAdmin != 0 || !m.cfg.AutoFailback
	m.setPhase(phStandby)
}

func (m *Machine) onRecover(msg Message) {
	id := msg.ReqID
	if id <= m.handledRecover {
		m.resendAck(wire.RecoverAck, id)
		return
	}
	m.handledRecover = id
	if m.phase == phRequesting || m.phase == phFencing {
		m.cancelRequest() // the peer is back: no takeover
	}
	m.want &^= m.peerG
	m.permit &^= m.peerG
	m.owe(pendingAck{kind: wire.RecoverAck, id: id, release: m.peerG})
}

// onTakeoverNotice handles the peer giving everything up. Its groups are
// started once its frames show it released them.
func (m *Machine) onTakeoverNotice(msg Message) {
	if m.stopping {
		return
	}
	if m.notice != nil {
		m.alert(LevelError, "both nodes are handing their groups over; nobody takes them")
		return
	}
	m.cancelRequest()
	m.want, m.permit = m.all, m.all
	m.hold = false
	m.setPhase(phActive)
	if msg.Flags&wire.FlagUnhealthy != 0 {
		m.alert(LevelWarning, "peer handed its groups over: a critical agent failed there")
	}
}

// owe records an ack to send once its groups are released. A newer request
// of the same kind replaces an older one: the peer only waits for the newest.
func (m *Machine) owe(a pendingAck) {
	for i := range m.acks {
		if m.acks[i].kind == a.kind {
			m.acks[i] = a
			return
		}
	}
	m.acks = append(m.acks, a)
}

func (m *Machine) resendAck(kind wire.Kind, id uint32) {
	if m.lastAckKind != kind || m.lastAckID != id {
		return
	}
	for _, a := range m.acks {
		if a.kind == kind && a.id == id {
			return // still releasing; the ack goes out when done
		}
	}
	m.emit(Effect{Kind: EffSend, Msg: kind, ReqID: id})
}

func (m *Machine) tableDone(ev TableDone) {
	if ev.Group != m.jobGroup {
		return // not the job we started (restored after a restart)
	}
	m.jobGroup = 0
	switch {
	case ev.Start && ev.OK:
		m.on |= ev.Group
		m.redo &^= ev.Group
		// A service agent's verdict from before the start is about a
		// service that was not running yet: forget it; the driver reports
		// the agents afresh after every start.
		m.svcErr = false
	case ev.Start:
		// A half-started group is stopped, and the node hands over to a
		// healthy peer or, still wanting it, starts it again at retryAt.
		m.on |= ev.Group
		m.redo &^= ev.Group
		m.failed |= ev.Group
		m.retryAt = m.now + m.cfg.RetryAfter
		m.alert(LevelError, fmt.Sprintf("start of %v failed: %s", ev.Group, ev.Err))
	case ev.OK:
		m.on &^= ev.Group
		m.redo &^= ev.Group
	default:
		// The table already retried. A resource that will not stop may
		// still be held: the only safe move is to stop being a node.
		m.on |= ev.Group
		m.emit(Effect{Kind: EffFailSafe, Text: fmt.Sprintf("stop of %v failed: %s", ev.Group, ev.Err)})
		m.setPhase(phFailed)
	}
}

func (m *Machine) fenceDone(ev FenceDone) {
	if m.phase != phFencing {
		// Cancelled: the peer spoke up meanwhile, typically rebooting
		// while the fence device was at work. A fence that then succeeded
		// powered it off after it spoke: it is silent now, and waiting a
		// dead time to notice would keep the service down for nothing
		// (found by the fault campaign: a node power-cycling repeatedly).
		// Its next frame, should it still be up, says otherwise.
		if ev.OK {
			m.deadEpoch = max(m.deadEpoch, m.fenceEpoch)
			if m.peer.alive {
				m.alert(LevelWarning, "peer fenced after it was heard: taking it for silent")
				m.peer.alive = false
			}
		}
		return
	}
	switch {
	case ev.OK:
		// Powered off: whatever still arrives from that boot of the peer
		// was sent before, and held up on the way (a serial line's
		// buffers drain for seconds). Only a new boot speaks for it now.
		m.deadEpoch = max(m.deadEpoch, m.fenceEpoch)
		m.alert(LevelInfo, "peer fenced")
		m.takeAll(true, "peer silent and fenced")
	case !m.cfg.FenceRequired:
		m.alert(LevelWarning, "fencing failed, taking over anyway (fence not required): "+ev.Err)
		m.takeAll(true, "peer silent")
	default:
		m.alert(LevelError, "fencing failed, not taking over: "+ev.Err)
		m.fenceRetryAt = m.now + m.cfg.RetryAfter
		m.cancelRequest()
	}
}

func (m *Machine) adminCmd(ev Admin) {
	if m.admin != nil {
		m.reply(false, "superseded by "+ev.Cmd.String())
	}
	switch ev.Cmd {
	case AdminTakeover:
		if m.on == m.all && m.want == m.all {
			m.admin = &adminWait{id: ev.ID, cmd: ev.Cmd}
			return // replyAdmin answers at once
		}
		m.admin = &adminWait{id: ev.ID, cmd: ev.Cmd}
		if m.phase != phRequesting && m.phase != phFencing {
			m.startRequest(wire.FlagAdmin)
		}
	case AdminStandby:
		if !m.peer.alive {
			m.replyTo(ev.ID, false, "refused: the peer is not heard, standby would leave the service down")
			return
		}
		if m.peer.flags&wire.FlagUnhealthy != 0 {
			m.replyTo(ev.ID, false, "refused: a critical agent fails on the peer, it cannot take over")
			return
		}
		m.admin = &adminWait{id: ev.ID, cmd: ev.Cmd}
		if m.phase == phStandby && m.Held() == 0 && m.want == 0 {
			m.hold = true
			return
		}
		m.giveUp(wire.FlagAdmin, "operator asked for standby")
	case AdminRecover:
		if m.phase != phStandby {
			m.replyTo(ev.ID, false, fmt.Sprintf("refused: not in standby (state %v)", m.label))
			return
		}
		m.admin = &adminWait{id: ev.ID, cmd: ev.Cmd}
		m.hold = false
		m.startRecover()
	default:
		m.replyTo(ev.ID, false, "unknown command")
	}
}

// replyAdmin answers a waiting operator once the outcome is known.
func (m *Machine) replyAdmin() {
	a := m.admin
	if a == nil {
		return
	}
	switch {
	case m.phase == phFailed:
		m.reply(false, "node failed safe")
	case a.cmd == AdminTakeover && m.phase == phActive && m.on == m.all && m.want == m.all:
		m.reply(true, fmt.Sprintf("holding every group (%v), state %v", m.all, m.label))
	case a.cmd == AdminTakeover && m.phase == phStandby:
		m.reply(false, "the peer asked for takeover first")
	case a.cmd == AdminStandby && m.phase == phStandby && m.Held() == 0 && len(m.acks) == 0:
		m.reply(true, "released every group; standing by")
	case a.cmd == AdminStandby && m.phase == phActive:
		m.reply(false, "the peer handed its groups over at the same time")
	case a.cmd == AdminRecover && m.phase == phActive && m.on.Has(m.own):
		m.reply(true, fmt.Sprintf("own group back, state %v", m.label))
	case a.cmd == AdminRecover && m.phase == phStandby && m.hold:
		m.reply(false, "the peer took everything over meanwhile")
	}
}

func (m *Machine) reply(ok bool, text string) {
	m.replyTo(m.admin.id, ok, text)
	m.admin = nil
}

func (m *Machine) replyTo(id uint64, ok bool, text string) {
	m.emit(Effect{Kind: EffAdminReply, Admin: id, OK: ok, Text: text})
}

// decide moves between phases on what is known now.
func (m *Machine) decide() {
	if m.stopping {
		return
	}
	switch m.phase {
	case phBoot:
		switch {
		case m.peer.alive && m.own != 0 && m.peer.held.Any(m.own) && !m.cfg.AutoFailback:
			m.hold = true
			m.setPhase(phStandby)
			m.alert(LevelInfo, "peer holds this node's group; manual failback: standing by until recover")
		case m.peer.alive:
			m.startRecover()
		case m.now >= m.bootAt+m.cfg.Initdead:
			m.alert(LevelWarning, "peer not heard within initdead; acting alone")
			m.startRequest(0)
		}
	case phStandby:
		switch {
		case len(m.acks) > 0 || m.jobGroup != 0:
			// still releasing
		case !m.peer.alive && m.now >= m.fenceRetryAt:
			m.startRequest(0)
		case m.peer.alive && !m.hold && m.healthy() && !m.serviceFail && m.notice == nil:
			m.startRecover()
		case m.unservedFor() >= m.cfg.RetryAfter && m.shouldServe():
			m.alert(LevelWarning, "both nodes stand by and nobody serves; taking over")
			m.startRequest(0)
		}
	case phActive:
		missing := m.all &^ m.want &^ m.failed
		switch {
		case !m.peer.alive && missing != 0 && m.now >= m.fenceRetryAt:
			m.startRequest(0)
		case !m.healthy() && (m.Held()|m.want) != 0 && m.peerFit():
			m.giveUp(wire.FlagUnhealthy, "unhealthy: handing over to the peer")
		case m.svcErr && m.running() != 0 && m.peerFit():
			m.giveUp(0, "a critical service failed: handing over to the peer")
		case m.unservedFor() >= m.cfg.RetryAfter:
			m.alert(LevelWarning, "the peer stands by and nobody serves its group; taking over")
			m.startRequest(0)
		}
	case phRecovering:
		switch {
		case !m.peer.alive:
			m.startRequest(0)
		case m.req.acked && m.on.Has(m.own):
			m.req = request{}
			m.setPhase(phActive)
		}
	}
}

// unservedFor returns how long some group has been held by neither node
// while the peer stands by (D) and nothing is under way here. Without this,
// a standby forced by an operator or a failing agent on one node, meeting a
// standby on the other, would leave the service down for good.
func (m *Machine) unservedFor() time.Duration {
	unserved := m.all &^ m.want &^ m.Held() &^ m.peer.held
	stuck := m.peer.alive && m.peer.state == wire.StateDown && unserved != 0 &&
		m.notice == nil && len(m.acks) == 0 && m.jobGroup == 0
	if !stuck {
		m.unservedSince = -1
		return 0
	}
	if m.unservedSince < 0 {
		m.unservedSince = m.now
	}
	return m.now - m.unservedSince
}

// shouldServe breaks the tie when both nodes stand by: the fitter one
// serves, and between equals the preferred one.
func (m *Machine) shouldServe() bool {
	meOK := m.healthy() && !m.serviceFail
	if peerOK := m.peerFit(); meOK != peerOK {
		return meOK
	}
	return m.cfg.Preferred == m.cfg.Me
}

// running returns the groups this node runs and means to keep running: a
// service agent's ERROR about a group being released is had's own doing.
func (m *Machine) running() wire.Groups { return m.on & m.want &^ m.jobGroup }

// markServiceFail keeps, or forgets, that the service failed while this
// node ran its own group. It then stands by (FlagServiceFailed) and does
// not take its group back before the agent reports OK: an operator fixes
// the service (Pacemaker's fail count, in spirit). Failing on the peer's
// group only hands it back; the node stays fit.
func (m *Machine) markServiceFail() {
	switch {
	case m.svcErr && m.own != 0 && m.running().Has(m.own):
		if !m.serviceFail {
			m.serviceFail = true
			m.alert(LevelError, "the service failed on this node's own group: standing by until its agent reports OK")
		}
	case !m.svcErr && m.serviceFail:
		m.serviceFail = false
		m.alert(LevelInfo, "critical service agents healthy again")
	}
}

// peerFit reports whether the peer is heard and fit to take groups over: no
// critical agent of its node, nor of the services it ran, reports ERROR.
// Handing over to a peer as broken as this node would only move the
// failure (a gateway lost on both nodes stays where it is).
func (m *Machine) peerFit() bool {
	return m.peer.alive && m.peer.flags&(wire.FlagUnhealthy|wire.FlagServiceFailed) == 0
}

// timers retransmits and lets deadlines pass.
func (m *Machine) timers() {
	if m.failed != 0 && m.now >= m.retryAt {
		m.failed = 0
	}
	if n := m.notice; n != nil {
		switch {
		case m.peer.alive && m.peer.held.Has(n.groups):
			m.notice = nil
		case m.now >= n.until:
			m.alert(LevelWarning, "the peer did not take the groups over")
			m.notice = nil
		case m.now-n.lastSent >= m.cfg.Retransmit:
			n.lastSent = m.now
			m.emit(Effect{Kind: EffSend, Msg: wire.Takeover, ReqID: n.id, Flags: n.flags})
		}
	}
	switch m.phase {
	case phRequesting:
		if m.now >= m.req.deadline {
			if !m.peer.alive {
				if m.cfg.Fence {
					m.setPhase(phFencing)
					m.fenceEpoch = m.peer.epoch
					m.emit(Effect{Kind: EffFence})
					return
				}
				m.takeAll(true, "peer silent")
				return
			}
			if !m.req.alerted {
				m.req.alerted = true
				m.alert(LevelWarning, "peer heard but has not acknowledged TAKEREQUEST yet")
			}
		}
		m.resend()
	case phRecovering:
		if !m.req.acked {
			m.resend()
		}
	}
}

func (m *Machine) resend() {
	if m.now-m.req.lastSent < m.resendEvery() {
		return
	}
	m.req.lastSent = m.now
	m.req.sends++
	m.emit(Effect{Kind: EffSend, Msg: m.req.kind, ReqID: m.req.id, Flags: m.req.flags | m.Flags()})
}

// reconcile runs at most one table at a time: stops first (the peer's group
// before the own one, the reverse of starting), then owed acks, then starts.
func (m *Machine) reconcile() {
	if m.jobGroup != 0 || m.phase == phFailed {
		return
	}
	if stop := m.on &^ (m.want &^ m.failed); stop != 0 {
		g := m.peerG
		if !stop.Any(g) {
			g = m.own
		}
		m.jobGroup, m.jobStart = g, false
		m.emit(Effect{Kind: EffStop, Group: g})
		return
	}
	kept := m.acks[:0]
	for _, a := range m.acks {
		if m.Held().Any(a.release) {
			kept = append(kept, a)
			continue
		}
		m.lastAckKind, m.lastAckID = a.kind, a.id
		m.emit(Effect{Kind: EffSend, Msg: a.kind, ReqID: a.id, Flags: m.Flags()})
	}
	m.acks = kept
	// A start a restart cut short is run again (starting what runs
	// succeeds): the group counts as held meanwhile, as it may be half up.
	if redo := m.redo & m.want &^ m.failed; redo != 0 {
		g := m.own
		if !redo.Any(g) {
			g = m.peerG
		}
		m.jobGroup, m.jobStart = g, true
		m.emit(Effect{Kind: EffStart, Group: g})
		return
	}
	start := m.want &^ m.on & m.permit &^ m.failed
	for _, g := range [2]wire.Groups{m.own, m.peerG} {
		if g != 0 && start.Any(g) && (m.peerDead || !m.peer.held.Any(g)) {
			m.jobGroup, m.jobStart = g, true
			m.emit(Effect{Kind: EffStart, Group: g})
			return
		}
	}
}

func (m *Machine) startRecover() {
	m.req = request{kind: wire.Recover, id: m.newID(), from: m.phase, flags: 0}
	m.setPhase(phRecovering)
	m.send()
}

func (m *Machine) startRequest(flags wire.Flags) {
	from := m.phase
	m.req = request{kind: wire.TakeRequest, id: m.newID(), flags: flags, deadline: m.now + m.cfg.AckTimeout, from: from}
	m.setPhase(phRequesting)
	m.send()
}

func (m *Machine) send() {
	m.req.lastSent = m.now
	m.req.sends++
	m.emit(Effect{Kind: EffSend, Msg: m.req.kind, ReqID: m.req.id, Flags: m.req.flags | m.Flags()})
}

// cancelRequest drops our outstanding request and returns to where it began.
func (m *Machine) cancelRequest() {
	if m.req.kind == wire.OK {
		return
	}
	from := m.req.from
	m.req = request{}
	if m.phase == phRequesting || m.phase == phFencing || m.phase == phRecovering {
		switch from {
		case phActive, phStandby:
			m.setPhase(from)
		default:
			m.setPhase(phStandby)
		}
	}
}

// takeAll takes every group. peerDead says the peer never answered: its
// last frames are then not waited for.
func (m *Machine) takeAll(peerDead bool, why string) {
	m.req = request{}
	m.notice = nil
	m.hold = false
	m.want, m.permit = m.all, m.all
	m.peerDead = peerDead
	m.setPhase(phActive)
	m.alert(LevelWarning, "taking over: "+why)
}

// giveUp sends TAKEOVER and releases everything. The permits go before the
// message does, so the peer can never see the notice while we may start.
func (m *Machine) giveUp(flags wire.Flags, why string) {
	groups := m.Held() | m.want
	m.cancelRequest()
	m.want, m.permit = 0, 0
	m.hold = flags&wire.FlagAdmin != 0 || !m.cfg.AutoFailback
	m.notice = &notice{id: m.newID(), groups: groups, flags: flags | m.Flags(), until: m.now + m.cfg.GiveUpWait, lastSent: m.now}
	m.setPhase(phStandby)
	m.alert(LevelWarning, why)
	m.emit(Effect{Kind: EffSend, Msg: wire.Takeover, ReqID: m.notice.id, Flags: m.notice.flags})
}

func (m *Machine) newID() uint32 {
	m.nextID++
	return m.nextID
}

func (m *Machine) setPhase(p phase) { m.phase = p }

// publish emits a transition when the N/T/R/D state changed.
func (m *Machine) publish() {
	s := m.stateOf(m.phase)
	if s != m.label {
		m.emit(Effect{Kind: EffTransition, From: m.label, To: s, Text: m.phase.String()})
		m.label = s
	}
}

func (m *Machine) stateOf(p phase) wire.State {
	switch p {
	case phRecovering:
		return wire.StateRecover
	case phActive:
		if m.peerG != 0 && m.on.Has(m.peerG) {
			return wire.StateTakeover
		}
		return wire.StateNormal
	case phRequesting, phFencing:
		if f := m.req.from; f != phRequesting && f != phFencing {
			return m.stateOf(f)
		}
	}
	return wire.StateDown
}

func (m *Machine) alert(l Level, text string) {
	m.emit(Effect{Kind: EffAlert, Level: l, Text: text})
}

func (m *Machine) emit(e Effect) { m.out = append(m.out, e) }
