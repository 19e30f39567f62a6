package fakeapi

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// node is one simulated node.
type node struct {
	id          uint8
	name        string
	home, away  string // its own group and the peer's
	state       string // N, T, R or D
	alive       bool   // running and heard by the peer
	since       time.Time
	downs       uint64
	epoch       uint64
	transitions []Transition
	phase       float64 // offsets the waves of its figures
}

func newNode(id uint8, name string, booted time.Time) *node {
	n := &node{id: id, name: name, state: "N", alive: true, since: booted, epoch: 3, phase: float64(id) * 1.7}
	n.home, n.away = fmt.Sprintf("g%d", id), fmt.Sprintf("g%d", 3-id)
	n.transitions = []Transition{
		{Time: booted, From: "D", To: "R", Text: "state D → R (recovering), holding none"},
		{Time: booted.Add(400 * time.Millisecond), From: "R", To: "N", Text: "state R → N (active), holding " + n.home},
	}
	return n
}

// held is what the node holds in its state.
func (n *node) held() string {
	switch n.state {
	case "N":
		return n.home
	case "T":
		if n.id == 1 {
			return n.home + "," + n.away
		}
		return n.away + "," + n.home
	}
	return "none"
}

// set moves the node to state s at time t, noting the transition.
func (n *node) set(s string, t time.Time, why string) {
	if s == n.state {
		return
	}
	from := n.state
	n.state = s
	n.transitions = append(n.transitions, Transition{Time: t, From: from, To: s,
		Text: fmt.Sprintf("state %s → %s (%s), holding %s", from, s, why, n.held())})
	if len(n.transitions) > 16 {
		n.transitions = n.transitions[len(n.transitions)-16:]
	}
}

// pair is the seed's notation, node 1 first; a dead node counts as D.
func (f *Fake) pair() string {
	s := func(n *node) string {
		if !n.alive {
			return "D"
		}
		return n.state
	}
	return "(" + s(f.nodes[0]) + "," + s(f.nodes[1]) + ")"
}

// perf is node n's figures at t: slow waves plus noise, and a busy spell
// every few minutes so the plots have something to show.
func (f *Fake) perf(n *node, t time.Time) *Perf {
	if !n.alive {
		return nil
	}
	x := float64(t.Unix()) + n.phase*100
	busy := 0.0
	if math.Mod(x, 240) < 25 {
		busy = 1
	}
	load := 1.0
	if n.state == "T" {
		load = 1.6 // serving both groups
	}
	cpu := load*(11+5*math.Sin(x/47)+3*math.Sin(x/13)) + busy*28 + f.rng.Float64()*4
	in := load*(240+90*math.Sin(x/61+n.phase)) + busy*420 + f.rng.Float64()*40
	return &Perf{
		CPUPercent:    round(clamp(cpu, 0, 100), 1),
		MemPercent:    round(36+4*n.phase+3*math.Sin(x/300)+busy*6+f.rng.Float64(), 1),
		NetPacketsIn:  round(in, 0),
		NetPacketsOut: round(in*0.86+f.rng.Float64()*30, 0),
		DiskReads:     round(4+f.rng.Float64()*6+busy*40, 0),
		DiskWrites:    round(12+f.rng.Float64()*10+busy*25, 0),
		Load1:         round(cpu/50, 2),
	}
}

// rtt is a path's round trip: about 0.3 ms on the LAN, about 45 ms on a
// 19200 baud serial line (a 40-byte frame each way).
func (f *Fake) rtt(path int) float64 {
	if path == 0 {
		v := 0.26 + f.rng.Float64()*0.08
		if f.rng.Intn(40) == 0 {
			v += 0.4 + f.rng.Float64()*0.6 // a scheduling hiccup
		}
		return round(v, 3)
	}
	return round(43.5+f.rng.Float64()*3, 2)
}

var pathNames = []string{"lan", "serial"}

// sample is the history sample at t, as the local node takes it.
func (f *Fake) sample(t time.Time) Sample {
	local, peer := f.nodes[0], f.nodes[1]
	s := Sample{T: t.UTC(), Local: f.perf(local, t), State: local.state, PeerState: "D"}
	if !f.peerGone {
		s.Peer = f.perf(peer, t)
	}
	if peer.alive {
		s.PeerState = peer.state
	}
	for i, name := range pathNames {
		p := PathSample{Name: name, Up: peer.alive}
		if p.Up {
			p.RTTMs = f.rtt(i)
		}
		s.Paths = append(s.Paths, p)
	}
	return s
}

// view is node i's /v1/status "local" at now.
func (f *Fake) view(i int, now time.Time) Status {
	me, other := f.nodes[i], f.nodes[1-i]
	st := Status{
		Node:  Node{ID: me.id, Name: me.name, State: me.state, Held: me.held()},
		Peer:  Peer{Node: Node{ID: other.id, Name: other.name, State: other.state, Held: other.held()}, Alive: other.alive, Epoch: other.epoch},
		Pair:  f.pair(),
		Perf:  f.perf(me, now),
		Taken: now.UTC(),
	}
	if me.state == "D" {
		st.Node.Flags = "standby"
	}
	uptime := now.Sub(f.started).Seconds()
	if other.alive {
		st.Peer.LastHeardS = round(0.02+f.rng.Float64()*0.08, 3)
	} else {
		st.Peer.LastHeardS = round(now.Sub(other.since).Seconds(), 1)
		st.Peer.State, st.Peer.Held = "N", other.home // as last heard
	}
	for p, name := range pathNames {
		path := Path{Name: name, Up: other.alive, Heard: uint64(uptime * 10), Downs: other.downs, Lost: other.downs*30 + uint64(p*4),
			Late: uint64(p * 3), MaxGapMs: round(104+f.rng.Float64()*9+float64(p)*40, 1)}
		if other.alive {
			path.LastHeardS = round(0.01+f.rng.Float64()*0.09, 3)
			path.RTTMs = f.rtt(p)
			if f.rng.Intn(6) == 0 {
				path.LossPercent = 1
			}
		} else {
			path.LastHeardS = st.Peer.LastHeardS
			path.LossPercent = 100
		}
		st.Paths = append(st.Paths, path)
	}
	base := int32(800 + 400*int(me.id))
	for k, role := range []string{"had1", "had2", "sender", "receiver", "admin"} {
		st.Daemons = append(st.Daemons, Daemon{Role: role, PID: base + int32(k*7), Alive: true,
			UpdatedS: round(f.rng.Float64()*0.1, 3), Phase: "running"})
	}
	st.Daemons[3].Restarts = uint64(me.id - 1) // bravo's receiver was killed once
	st.Agents = f.agents(me, st.Perf)
	st.Resources = resources(me)
	st.Transitions = append([]Transition(nil), me.transitions...)
	if i == 0 {
		st.Admin = f.reply
	}
	return st
}

// agents is node n's agent verdicts.
func (f *Fake) agents(n *node, p *Perf) []Agent {
	age := func() float64 { return round(0.1+f.rng.Float64()*1.8, 1) }
	vip := map[string]string{"g1": "10.213.0.50", "g2": "10.213.0.51"}[n.home]
	out := []Agent{
		{Name: "web", Value: "OK", Message: fmt.Sprintf("GET http://%s/ → 200 in %.1f ms", vip, 1.5+f.rng.Float64()*2), Critical: true, Service: true},
		{Name: "gateway", Value: "OK", Message: fmt.Sprintf("10.213.0.1 answers in %.2f ms", 0.3+f.rng.Float64()*0.3), Critical: true},
		{Name: "eth0-link", Value: "OK", Message: "carrier up, 10 Gb/s"},
	}
	if n.id == 1 {
		out = append(out, Agent{Name: "disk", Value: "WARNING", Message: "/var 91% full (warning at 90%)"})
	} else {
		out = append(out, Agent{Name: "disk", Value: "OK", Message: "/var 48% full"},
			Agent{Name: "db", Value: "OK", Message: "connect 10.213.0.51:5432 in 0.3 ms", Service: true, Restarts: 1})
	}
	if p != nil {
		out = append(out, Agent{Name: "stats", Value: "INFORMATION",
			Message: fmt.Sprintf("cpu %.0f%% · mem %.0f%% · %.0f/%.0f pkt/s", p.CPUPercent, p.MemPercent, p.NetPacketsIn, p.NetPacketsOut)})
	}
	for i := range out {
		out[i].AgeS = age()
		out[i].PID = int32(2100 + 13*i + 500*int(n.id))
	}
	return out
}

// resources is node n's tables: its RECOVER table (own group) and its
// TAKEOVER table (the peer's), in order.
func resources(n *node) []Group {
	entries := map[string][]Entry{
		"g1": {{"vip", "10.213.0.50"}, {"tee", "10.213.0.50:5140"}, {"service", "nginx"}},
		"g2": {{"vip", "10.213.0.51"}, {"cmd", "mount-data"}, {"service", "postgresql"}},
	}
	held := n.held()
	return []Group{
		{Group: n.home, Table: "recover", File: "/etc/had/recover.table", Held: held == n.home || n.state == "T", Entries: entries[n.home]},
		{Group: n.away, Table: "takeover", File: "/etc/had/takeover.table", Held: n.state == "T", Entries: entries[n.away]},
	}
}

// apply carries out an admin request on the local node and returns had2's
// answer.
func (f *Fake) apply(op string, now time.Time) (bool, string) {
	me, peer := f.nodes[0], f.nodes[1]
	switch op {
	case "takeover":
		if me.state == "T" {
			return false, "already holding every group (g1,g2), state T"
		}
		if peer.alive {
			peer.set("D", now, "standby")
		}
		me.set("T", now.Add(180*time.Millisecond), "active")
		return true, "holding every group (g1,g2), state T"
	case "standby":
		if me.state == "D" {
			return false, "already standing by, state D"
		}
		if !peer.alive {
			return false, "refused: bravo is not alive, standing by would leave g1 unserved"
		}
		me.set("D", now, "standby")
		peer.set("T", now.Add(150*time.Millisecond), "active")
		return true, "standing by: g1 handed to bravo, state D"
	case "recover":
		if me.state != "D" {
			return false, fmt.Sprintf("refused: state %s, recover is for a node standing by (D)", me.state)
		}
		me.set("R", now, "recovering")
		if peer.state == "T" {
			peer.set("N", now.Add(120*time.Millisecond), "active")
		}
		me.set("N", now.Add(260*time.Millisecond), "active")
		return true, "recovered g1, state N"
	}
	return false, "unknown request " + op
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// Outage is a spell, in the past, when the peer was dead: From and To are
// how long ago it died and came back.
type Outage struct{ From, To time.Duration }

// Backfill replaces the history with span seconds of samples ending now, the
// pair (N,N) except during the outages: the peer dies, the local node takes
// its group over (T,D), the peer comes back and recovers (T,R) → (N,N), as
// in the seed's sequence for symmetric mode.
func (f *Fake) Backfill(span time.Duration, outages ...Outage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opt.Now().Truncate(time.Second)
	me, peer := f.nodes[0], f.nodes[1]
	type event struct {
		at time.Time
		do func(time.Time)
	}
	var evs []event
	for _, o := range outages {
		down, back := now.Add(-o.From).Truncate(time.Second), now.Add(-o.To).Truncate(time.Second)
		evs = append(evs,
			event{down, func(t time.Time) { peer.alive, peer.since, peer.state = false, t, "D"; peer.downs++ }},
			event{down.Add(450 * time.Millisecond), func(t time.Time) { me.set("T", t, "active") }},
			event{back, func(t time.Time) { peer.alive, peer.since = true, t; peer.epoch++; peer.set("R", t, "recovering") }},
			event{back.Add(200 * time.Millisecond), func(t time.Time) { me.set("N", t, "active") }},
			event{back.Add(500 * time.Millisecond), func(t time.Time) { peer.set("N", t, "active") }},
		)
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	f.samples = f.samples[:0]
	for t := now.Add(-span); !t.After(now); t = t.Add(time.Second) {
		for len(evs) > 0 && !evs[0].at.After(t) {
			evs[0].do(evs[0].at)
			evs = evs[1:]
		}
		f.samples = append(f.samples, f.sample(t))
	}
	for _, e := range evs { // outages that end in the future
		e.do(e.at)
	}
	f.last = now
	if n := len(f.samples); n > maxSamples {
		f.samples = f.samples[n-maxSamples:]
	}
}
