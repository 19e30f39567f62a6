package fsm

import (
	"container/heap"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

// This file is a deterministic two-node world for the machine: two paths
// that can lose, delay, reorder, duplicate and cut frames in either
// direction, a receiver per node with the real de-duplication and OVERTIME
// rules, tables that take time and sometimes fail, fencing, power cycles,
// had2 restarts (snapshot and restore), agent failures and operator
// commands. Time is simulated; there are no goroutines and no sleeps.

const simTick = time.Millisecond

type simTimers struct {
	interval, deadtime time.Duration
}

type simPath struct {
	up       [2]bool // indexed by sender-1
	loss     float64
	dup      float64
	minDelay time.Duration
	maxDelay time.Duration
}

type simFrame struct {
	from int // sender index 0/1
	msg  Message
}

type simNode struct {
	idx     int
	cfg     Config
	m       *Machine
	powered bool
	epoch   uint64
	seq     uint64

	// receiver
	rEpoch, rSeq uint64
	lastHeard    time.Duration
	overtime     bool

	// tables: the job in flight is identified by a token so that a
	// completion for a machine that was restarted or powered off is dropped.
	jobToken int
	phys     wire.Groups // groups whose resources are up, for the invariant
	agentsOK bool
	svcFail  bool // a critical service agent reports ERROR

	falseOvertimeSince time.Duration // -1 when none
	falseOvertimeEnd   time.Duration
	states             []wire.State
}

type simEvent struct {
	at  time.Duration
	ord int
	fn  func()
}

type eventQueue []simEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].ord < q[j].ord
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type sim struct {
	t        testing.TB
	seed     int64
	rng      *rand.Rand
	now      time.Duration
	q        eventQueue
	ord      int
	nodes    [2]*simNode
	paths    []*simPath
	timers   simTimers
	fencing  bool // EffFence powers the peer off (may fail)
	strict   bool // fencing is required: a dual holding is never excused
	fenceErr float64
	tableMax time.Duration // longest table run
	failP    float64       // probability a start fails
	pairLog  []string
	trace    []string
	keep     int // trace lines kept for failure messages
	// resolveBound: how long a dual holding caused by a false OVERTIME may
	// outlast the blackout that caused it.
	resolveBound time.Duration
	violation    string
}

func newSim(t testing.TB, seed int64, mode string, autoFailback bool) *sim {
	s := &sim{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), keep: 400,
		timers:   simTimers{interval: 50 * time.Millisecond, deadtime: 250 * time.Millisecond},
		tableMax: 40 * time.Millisecond, resolveBound: 3 * time.Second}
	for i := range s.nodes {
		me := uint8(i + 1)
		cfg := Config{Me: me, Peer: 3 - me, Preferred: 1, AutoFailback: autoFailback,
			Initdead: 2 * time.Second, AckTimeout: 100 * time.Millisecond, Retransmit: 20 * time.Millisecond,
			GiveUpWait: 2 * time.Second, RetryAfter: time.Second}
		switch mode {
		case "symmetric":
			cfg.OwnGroup, cfg.PeerGroup = true, true
		default: // asymmetric, node 1 is the primary
			cfg.OwnGroup, cfg.PeerGroup = me == 1, me == 2
		}
		s.nodes[i] = &simNode{idx: i, cfg: cfg, falseOvertimeSince: -1}
	}
	for i := 0; i < 2; i++ { // "udp" and "serial"
		s.paths = append(s.paths, &simPath{up: [2]bool{true, true}, minDelay: 100 * time.Microsecond, maxDelay: 2 * time.Millisecond})
	}
	return s
}

func (s *sim) at(d time.Duration, fn func()) {
	s.ord++
	heap.Push(&s.q, simEvent{at: s.now + d, ord: s.ord, fn: fn})
}

func (s *sim) logf(format string, args ...any) {
	line := fmt.Sprintf("%9.3fs ", s.now.Seconds()) + fmt.Sprintf(format, args...)
	s.trace = append(s.trace, line)
	if len(s.trace) > 2*s.keep {
		s.trace = append(s.trace[:0], s.trace[len(s.trace)-s.keep:]...)
	}
}

// run processes events until the time limit.
func (s *sim) run(until time.Duration) {
	for s.q.Len() > 0 && s.violation == "" {
		e := heap.Pop(&s.q).(simEvent)
		if e.at > until {
			heap.Push(&s.q, e)
			break
		}
		s.now = e.at
		e.fn()
	}
	if s.now < until {
		s.now = until
	}
}

// start powers both nodes on (after the given delays) and starts the clocks.
func (s *sim) start(delayA, delayB time.Duration) {
	s.at(delayA, func() { s.powerOn(0) })
	s.at(delayB, func() { s.powerOn(1) })
	var tick func()
	tick = func() {
		s.falseOvertimeUpdate()
		for _, n := range s.nodes {
			s.receiverCheck(n)
			if n.powered && s.now >= n.m.NextWake() {
				s.step(n, Tick{})
			}
		}
		s.checkSafety()
		s.at(simTick, tick)
	}
	s.at(0, tick)
}

func (s *sim) powerOn(i int) {
	n := s.nodes[i]
	if n.powered {
		return
	}
	n.powered = true
	n.epoch++
	n.seq = 0
	n.rEpoch, n.rSeq = 0, 0
	n.lastHeard, n.overtime = s.now, false
	n.agentsOK, n.svcFail = true, false
	n.m = New(n.cfg, s.now)
	n.jobToken++
	n.states = append(n.states, n.m.State())
	s.logf("node%d power on (epoch %d)", i+1, n.epoch)
	s.recordPair()
	token := n.epoch
	var beat func()
	beat = func() {
		if !n.powered || n.epoch != token {
			return
		}
		s.send(n, Message{Kind: wire.OK})
		// heartbeats jitter a little, as a real timer does on a busy host
		s.at(s.timers.interval+time.Duration(s.rng.Int63n(int64(2*time.Millisecond))), beat)
	}
	s.at(0, beat)
}

func (s *sim) powerOff(i int) {
	n := s.nodes[i]
	if !n.powered {
		return
	}
	n.powered = false
	n.m = nil
	n.phys = 0
	n.jobToken++
	s.logf("node%d power off", i+1)
	s.recordPair()
	s.falseOvertimeUpdate()
}

// restartHad2 replaces the machine by one restored from its snapshot, as a
// killed and restarted had2 does.
func (s *sim) restartHad2(i int) {
	n := s.nodes[i]
	if !n.powered {
		return
	}
	snapBytes := n.m.Snapshot()
	m, err := Restore(n.cfg, snapBytes, s.now)
	if err != nil {
		s.fail("restore node%d: %v", i+1, err)
		return
	}
	n.m = m
	n.jobToken++ // the old table goroutine died with the old had2
	s.logf("node%d had2 restarted (phase %v)", i+1, m.phase)
	if n.overtime {
		s.step(n, PeerSilent{})
	} else {
		s.step(n, Tick{})
	}
}

func (s *sim) send(n *simNode, msg Message) {
	if !n.powered {
		return
	}
	n.seq++
	msg.State, msg.Held, msg.Flags = n.m.State(), n.m.Held(), msg.Flags|n.m.Flags()
	msg.Epoch, msg.Seq = n.epoch, n.seq
	if msg.Kind != wire.OK {
		s.logf("node%d sends %v#%d state=%v held=%v", n.idx+1, msg.Kind, msg.ReqID, msg.State, msg.Held)
	}
	for _, p := range s.paths {
		if !p.up[n.idx] {
			continue
		}
		copies := 1
		if s.rng.Float64() < p.dup {
			copies = 2
		}
		for c := 0; c < copies; c++ {
			if s.rng.Float64() < p.loss {
				continue
			}
			d := p.minDelay + time.Duration(s.rng.Int63n(int64(p.maxDelay-p.minDelay)+1))
			f := simFrame{from: n.idx, msg: msg}
			s.at(d, func() { s.deliver(f) })
		}
	}
}

// deliver is the receiver: replay/de-dup window, then the machine.
func (s *sim) deliver(f simFrame) {
	n := s.nodes[1-f.from]
	if !n.powered {
		return
	}
	m := f.msg
	if m.Epoch < n.rEpoch || (m.Epoch == n.rEpoch && m.Seq <= n.rSeq) {
		return
	}
	n.rEpoch, n.rSeq = m.Epoch, m.Seq
	n.lastHeard = s.now
	if n.overtime {
		n.overtime = false
		s.logf("node%d hears the peer again", n.idx+1)
		s.falseOvertimeUpdate()
	}
	s.step(n, Heard{Msg: m})
}

func (s *sim) receiverCheck(n *simNode) {
	// As the real receiver: OVERTIME only for a peer heard since boot.
	if !n.powered || n.overtime || n.rEpoch == 0 || s.now-n.lastHeard < s.timers.deadtime {
		return
	}
	n.overtime = true
	s.logf("node%d OVERTIME", n.idx+1)
	s.falseOvertimeUpdate()
	s.step(n, PeerSilent{})
}

// falseOvertimeUpdate tracks the times a node heard nothing from its
// powered peer for the dead time (OVERTIME, or a boot that never heard it,
// which initdead treats alike): the blackouts that excuse a dual holding
// when there is no fencing.
func (s *sim) falseOvertimeUpdate() {
	for _, n := range s.nodes {
		peer := s.nodes[1-n.idx]
		false_ := n.powered && peer.powered && s.now-n.lastHeard >= s.timers.deadtime
		switch {
		case false_ && n.falseOvertimeSince < 0:
			n.falseOvertimeSince = s.now
		case !false_ && n.falseOvertimeSince >= 0:
			n.falseOvertimeSince = -1
			n.falseOvertimeEnd = s.now
		}
	}
}

func (s *sim) step(n *simNode, ev Event) {
	if !n.powered {
		return
	}
	effects := append([]Effect(nil), n.m.Step(s.now, ev)...)
	for _, e := range effects {
		s.apply(n, e)
		if !n.powered {
			return
		}
	}
	s.checkSafety()
}

func (s *sim) apply(n *simNode, e Effect) {
	switch e.Kind {
	case EffSend:
		s.send(n, Message{Kind: e.Msg, ReqID: e.ReqID, Flags: e.Flags})
	case EffStart, EffStop:
		n.jobToken++
		token := n.jobToken
		start, g := e.Kind == EffStart, e.Group
		if start {
			n.phys |= g
		}
		d := time.Duration(1+s.rng.Int63n(int64(s.tableMax))) + time.Millisecond
		ok := !start || s.rng.Float64() >= s.failP
		s.logf("node%d %v %v", n.idx+1, e.Kind, g)
		s.at(d, func() {
			if !n.powered || n.jobToken != token {
				return
			}
			if !start {
				n.phys &^= g
			}
			s.step(n, TableDone{Group: g, Start: start, OK: ok, Err: map[bool]string{false: "boom"}[ok]})
		})
	case EffFence:
		s.logf("node%d fences its peer", n.idx+1)
		token := n.epoch
		s.at(20*time.Millisecond, func() {
			if !n.powered || n.epoch != token {
				return
			}
			ok := s.rng.Float64() >= s.fenceErr
			if ok && s.fencing {
				s.powerOff(1 - n.idx)
				peer := 1 - n.idx
				s.at(time.Duration(500+s.rng.Intn(3000))*time.Millisecond, func() { s.powerOn(peer) })
			}
			s.step(n, FenceDone{OK: ok && s.fencing, Err: "fence failed"})
		})
	case EffFailSafe:
		s.logf("node%d FAILSAFE: %s", n.idx+1, e.Text)
		s.powerOff(n.idx) // a fail-safe node takes itself out (had exits; the operator reboots)
	case EffTransition:
		n.states = append(n.states, e.To)
		s.logf("node%d %v", n.idx+1, e)
		s.recordPair()
	case EffAlert, EffAdminReply, EffReannounce:
		s.logf("node%d %v", n.idx+1, e)
	}
}

// pair returns the pair state as the seed writes it: (node1, node2).
func (s *sim) pair() string {
	st := func(n *simNode) string {
		if !n.powered {
			return "D"
		}
		return n.m.State().String()
	}
	return "(" + st(s.nodes[0]) + "," + st(s.nodes[1]) + ")"
}

func (s *sim) recordPair() {
	p := s.pair()
	if len(s.pairLog) == 0 || s.pairLog[len(s.pairLog)-1] != p {
		s.pairLog = append(s.pairLog, p)
	}
}

// checkSafety: a group is never up on both nodes, except, without fencing,
// during and shortly after a blackout that made a live peer look dead.
func (s *sim) checkSafety() {
	both := s.nodes[0].phys & s.nodes[1].phys
	if both == 0 || s.violation != "" {
		return
	}
	if !s.strict {
		for _, n := range s.nodes {
			if n.falseOvertimeSince >= 0 || (n.falseOvertimeEnd > 0 && s.now-n.falseOvertimeEnd <= s.resolveBound) {
				return
			}
		}
	}
	s.fail("group %v held by both nodes", both)
}

func (s *sim) fail(format string, args ...any) {
	if s.violation != "" {
		return
	}
	s.violation = fmt.Sprintf(format, args...)
	s.logf("VIOLATION: %s", s.violation)
}

func (s *sim) report() string {
	// Collapse runs of the same event (retransmissions) to keep it readable.
	var tail []string
	for i, l := range s.trace {
		if i > 0 && l[10:] == s.trace[i-1][10:] {
			continue
		}
		tail = append(tail, l)
	}
	if len(tail) > 80 {
		tail = tail[len(tail)-80:]
	}
	return fmt.Sprintf("seed %d: %s\npairs: %s\nlast events:\n%s\nreplay: go test ./had2/fsm -run TestSafetyRandom -v -seed=%d",
		s.seed, s.violation, strings.Join(s.pairLog, " "), strings.Join(tail, "\n"), s.seed)
}

// holders returns, per group, which nodes have it up.
func (s *sim) holders(g wire.Groups) []int {
	var out []int
	for _, n := range s.nodes {
		if n.phys.Any(g) {
			out = append(out, n.idx+1)
		}
	}
	return out
}

func (s *sim) admin(i int, cmd AdminCmd) {
	n := s.nodes[i]
	if n.powered {
		s.logf("node%d admin %v", i+1, cmd)
		s.step(n, Admin{ID: uint64(s.ord), Cmd: cmd})
	}
}

func (s *sim) setHealth(i int, ok bool) {
	n := s.nodes[i]
	if n.powered {
		n.agentsOK = ok
		s.logf("node%d agents ok=%v", i+1, ok)
		s.step(n, Health{OK: ok, ServiceFailed: n.svcFail})
	}
}

// setService makes node i's critical service agent report ERROR or OK.
func (s *sim) setService(i int, failed bool) {
	n := s.nodes[i]
	if n.powered {
		n.svcFail = failed
		s.logf("node%d service failed=%v", i+1, failed)
		s.step(n, Health{OK: n.agentsOK, ServiceFailed: failed})
	}
}
