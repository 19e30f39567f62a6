// Package console is what an operator sees of a node: the status gathered
// from the shared table, the admin server's API types (docs/console-api.md)
// and a client for them, and the text views of hactl (status, the live
// view). The admin server (package admin) is the only process that serves
// them; hactl and the web console are its clients.
package console

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hadcluster/had/agents"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/node"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
	"github.com/hadcluster/had/tables"
)

// Status is one node's view of the pair. The JSON field names are a
// stable interface: add fields, never rename them.
type Status struct {
	Node        Node         `json:"node"`
	Peer        Peer         `json:"peer"`
	Pair        string       `json:"pair"` // the seed's notation: (node 1, node 2)
	Paths       []Path       `json:"paths"`
	Daemons     []Daemon     `json:"daemons"`
	Agents      []Agent      `json:"agents"`
	Perf        *Perf        `json:"perf,omitempty"` // this node's figures, from its stats agent
	Resources   []Resource   `json:"resources"`
	Transitions []Transition `json:"transitions"` // newest last
	Drops       Drops        `json:"drops"`
	Admin       *Reply       `json:"last_admin_reply,omitempty"`
	Taken       time.Time    `json:"taken"`
}

// Node is this node.
type Node struct {
	ID    uint8  `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"` // N, T, R or D
	Held  string `json:"held"`  // groups held: "g1", "g1,g2", "none"
	Flags string `json:"flags"`
}

// Peer is the other node as the receiver last heard it.
type Peer struct {
	ID         uint8   `json:"id"`
	Name       string  `json:"name"`
	State      string  `json:"state"`
	Held       string  `json:"held"`
	Flags      string  `json:"flags"`
	Alive      bool    `json:"alive"` // false under OVERTIME or before it was first heard
	LastHeardS float64 `json:"last_heard_s"`
	Epoch      uint64  `json:"epoch"`
}

// Path is one heartbeat path.
type Path struct {
	Name       string  `json:"name"`
	Up         bool    `json:"up"`
	LastHeardS float64 `json:"last_heard_s"`
	Heard      uint64  `json:"heard"`
	Late       uint64  `json:"late"`
	Downs      uint64  `json:"downs"`
	RTTMs      float64 `json:"rtt_ms"`
	MaxGapMs   float64 `json:"max_gap_ms"`
	// LossPercent: of the last 100 frames the peer sent, the share this
	// path did not deliver.
	LossPercent float64 `json:"loss_percent"`
	Lost        uint64  `json:"lost"` // frames this path missed, all time
}

// Daemon is one of the node's had processes.
type Daemon struct {
	Role     string  `json:"role"`
	PID      int32   `json:"pid"`
	Alive    bool    `json:"alive"` // its record is fresher than its hang timeout
	UpdatedS float64 `json:"updated_s"`
	Phase    string  `json:"phase"`
	Restarts uint64  `json:"restarts"` // by had1 since it started (had1 itself: 0)
	// Sched is the scheduling it runs with ("rr:20 mlock onfault",
	// "other", "other (realtime denied)"); empty when it does not say.
	Sched string `json:"sched,omitempty"`
	// Stalls: the sender's and the receiver's own scheduling stalls (woke
	// later than planned by more than their threshold), and the longest.
	Stalls     uint64  `json:"stalls,omitempty"`
	MaxStallMs float64 `json:"max_stall_ms,omitempty"`
}

// Agent is one agent's latest verdict.
type Agent struct {
	Name     string  `json:"name"`
	Value    string  `json:"value"` // OK, INFORMATION, WARNING, ERROR, or "none" (no fresh result: dead, hung or starting)
	Message  string  `json:"message"`
	AgeS     float64 `json:"age_s"` // since the agent last wrote its result
	Critical bool    `json:"critical"`
	Service  bool    `json:"service"` // watches the services (else the node itself)
	PID      int32   `json:"pid"`
	Restarts uint64  `json:"restarts"`
}

// Perf is the seed-002 performance figures of a node, from its stats agent.
type Perf struct {
	CPUPercent    float64 `json:"cpu_percent"`
	MemPercent    float64 `json:"mem_percent"`
	NetPacketsIn  float64 `json:"net_packets_in_per_s"`
	NetPacketsOut float64 `json:"net_packets_out_per_s"`
	DiskReads     float64 `json:"disk_reads_per_s"`
	DiskWrites    float64 `json:"disk_writes_per_s"`
	Load1         float64 `json:"load1"`
}

// Drops counts frames the receiver refused, by reason.
type Drops struct {
	Cluster uint64 `json:"other_cluster"`
	MAC     uint64 `json:"bad_mac"`
	Replay  uint64 `json:"replay"`
	Short   uint64 `json:"truncated"`
	Invalid uint64 `json:"invalid"`
	Serial  uint64 `json:"serial_garbage"`
}

// Resource is one of the node's tables: the RECOVER table runs its own
// group, the TAKEOVER table the peer's.
type Resource struct {
	Group   string  `json:"group"` // "g1" or "g2"
	Table   string  `json:"table"` // "recover" or "takeover"
	File    string  `json:"file"`
	Held    bool    `json:"held"` // the node holds the group now
	Entries []Entry `json:"entries"`
}

// Entry is one line of a table.
type Entry struct {
	Kind string `json:"kind"` // vip, service, ocf, cmd, tee
	Name string `json:"name"`
}

// Transition is one change of the node's state.
type Transition struct {
	Time time.Time `json:"time"`
	From string    `json:"from"`
	To   string    `json:"to"`
	Text string    `json:"text"`
}

// MaxTransitions is how many transitions a status lists.
const MaxTransitions = 16

// Reply is had2's answer to the latest admin request.
type Reply struct {
	ID   uint64 `json:"id"`
	OK   bool   `json:"ok"`
	Text string `json:"text"`
}

var phaseNames = map[slots.Phase]string{slots.PhaseNone: "-", slots.PhaseStarting: "starting",
	slots.PhaseRunning: "running", slots.PhaseStopping: "stopping", slots.PhaseFailSafe: "failsafe"}

// reader is the part of shm.Table status needs.
type reader interface {
	Read(slot int) (shm.Record, error)
}

// Gather reads the node's status from its table at time now (shm.Now()),
// without the resources (GatherNode adds them).
func Gather(t reader, cfg *config.Config, now int64, wall time.Time) Status {
	st, _ := gather(t, cfg, now, wall)
	return st
}

// GatherNode is Gather with the node's tables listed as resources.
func GatherNode(t reader, n *node.Node, now int64, wall time.Time) Status {
	st, held := gather(t, n.Config, now, wall)
	st.Resources = Resources(n, held)
	return st
}

// daemonSlots are the node's had processes, in the order listed.
var daemonSlots = []struct {
	role  string
	slot  int
	extra int // had1's Extra word counting its restarts; -1: none
}{{"had1", shm.SlotHad1, -1}, {"had2", shm.SlotHad2, slots.ExtraRestartsHad2},
	{"sender", shm.SlotSender, slots.ExtraRestartsSender}, {"receiver", shm.SlotReceiver, slots.ExtraRestartsReceiver},
	{"admin", shm.SlotAdminSrv, slots.ExtraRestartsAdmin}}

func gather(t reader, cfg *config.Config, now int64, wall time.Time) (Status, wire.Groups) {
	read := func(slot int) (shm.Record, bool) {
		r, err := t.Read(slot)
		return r, err == nil || errors.Is(err, shm.ErrStale)
	}
	st := Status{Taken: wall, Paths: []Path{}, Daemons: []Daemon{}, Resources: []Resource{}}
	ago := func(stamp int64) float64 { return float64(now-stamp) / 1e9 }

	sendRec, _ := read(shm.SlotSend)
	send := slots.ParseSend(sendRec)
	st.Node = Node{ID: cfg.NodeID, Name: cfg.NodeName, State: stateText(send.State), Held: send.Held.String(), Flags: flagText(send.Flags)}

	peerRec, ok := read(shm.SlotPeer)
	p := slots.ParsePeer(peerRec)
	st.Peer = Peer{ID: cfg.PeerID, Name: cfg.PeerName, State: "?", Held: "?"}
	if ok && p.Accepted > 0 {
		st.Peer.State, st.Peer.Held, st.Peer.Flags = stateText(p.Last.State), p.Last.Held.String(), flagText(p.Last.Flags)
		st.Peer.Alive, st.Peer.LastHeardS, st.Peer.Epoch = !p.Overtime, ago(p.Last.Heard), p.Last.Epoch
	}
	peerState := st.PeerState()
	if cfg.NodeID == 1 {
		st.Pair = "(" + st.Node.State + "," + peerState + ")"
	} else {
		st.Pair = "(" + peerState + "," + st.Node.State + ")"
	}

	for i := 0; i < len(cfg.UDP)+len(cfg.Serial) && i < shm.MaxPaths; i++ {
		r, _ := read(shm.SlotPath0 + i)
		pa := slots.ParsePath(r)
		path := Path{Name: pa.Name, Up: pa.Up && pa.Heard > 0, Heard: pa.Heard, Late: pa.Late, Downs: pa.Downs,
			RTTMs: float64(pa.RTT) / 1e6, MaxGapMs: float64(pa.MaxGap) / 1e6,
			LossPercent: float64(pa.LossPermille) / 10, Lost: pa.Lost}
		if pa.LastHeard > 0 {
			path.LastHeardS = ago(pa.LastHeard)
		}
		if path.Name == "" {
			path.Name = pathName(cfg, i)
		}
		st.Paths = append(st.Paths, path)
	}

	had1Rec, _ := read(shm.SlotHad1)
	had1 := slots.ParseDaemon(had1Rec)
	for _, d := range daemonSlots {
		r, ok := read(d.slot)
		dm := slots.ParseDaemon(r)
		daemon := Daemon{Role: d.role, PID: dm.PID, Phase: phaseNames[dm.Phase]}
		if ok && r.Stamp > 0 {
			daemon.UpdatedS = ago(r.Stamp)
			daemon.Alive = r.Interval == 0 || now-r.Stamp <= r.Interval
		}
		if d.extra >= 0 {
			daemon.Restarts = had1.Extra[d.extra]
		}
		if sc, ok := slots.ParseSched(dm.Extra[slots.ExtraSched]); ok {
			daemon.Sched = sc.String()
		}
		if d.role == "sender" || d.role == "receiver" {
			daemon.Stalls, daemon.MaxStallMs = dm.Extra[slots.ExtraStalls], float64(dm.Extra[slots.ExtraMaxStall])/1e6
		}
		st.Daemons = append(st.Daemons, daemon)
		switch d.role {
		case "receiver":
			x := dm.Extra
			st.Drops = Drops{Cluster: x[slots.ExtraDropCluster], MAC: x[slots.ExtraDropMAC], Replay: x[slots.ExtraDropReplay],
				Short: x[slots.ExtraDropShort], Invalid: x[slots.ExtraDropInvalid], Serial: x[slots.ExtraDropSerial]}
		case "had2":
			if id := dm.Extra[slots.ExtraReplyID]; id > 0 {
				st.Admin = &Reply{ID: id, OK: dm.Extra[slots.ExtraReplyOK] == 1, Text: dm.Text}
			}
		}
	}
	st.Agents, st.Perf = gatherAgents(read, ago)
	events, _ := slots.ReadEvents(t, 0)
	st.Transitions = Transitions(events, nil)
	return st, send.Held
}

// Transitions appends the transitions among events to have and keeps the
// newest MaxTransitions.
func Transitions(events []slots.Event, have []Transition) []Transition {
	out := append([]Transition{}, have...)
	for _, e := range events {
		if e.Kind == slots.EventTransition {
			out = append(out, Transition{Time: time.Unix(0, e.Time).UTC(), From: stateText(e.From), To: stateText(e.To), Text: e.Text})
		}
	}
	if len(out) > MaxTransitions {
		out = append([]Transition{}, out[len(out)-MaxTransitions:]...)
	}
	return out
}

// Resources lists the node's tables: the RECOVER table (its own group)
// first, then the TAKEOVER table (the peer's), each with whether the node
// holds that group now.
func Resources(n *node.Node, held wire.Groups) []Resource {
	out := []Resource{}
	for _, r := range []struct {
		t    *tables.Table
		kind string
		g    wire.Groups
	}{{n.Recover, "recover", wire.GroupOf(n.Config.NodeID)}, {n.Takeover, "takeover", wire.GroupOf(n.Config.PeerID)}} {
		if r.t == nil {
			continue
		}
		res := Resource{Group: r.g.String(), Table: r.kind, File: r.t.File, Held: held&r.g != 0, Entries: []Entry{}}
		for _, e := range r.t.Entries {
			res.Entries = append(res.Entries, Entry{Kind: string(e.Kind()), Name: e.Name()})
		}
		out = append(out, res)
	}
	return out
}

func gatherAgents(read func(int) (shm.Record, bool), ago func(int64) float64) (out []Agent, perf *Perf) {
	out = []Agent{}
	for i := 0; i < shm.MaxAgents; i++ {
		idSlot, resSlot := slots.AgentSlots(i)
		r, ok := read(idSlot)
		if !ok || r.Type != shm.TypeAgentID {
			continue
		}
		id := slots.ParseAgentID(r)
		a := Agent{Name: id.Name, Value: "none", Critical: id.Flags&slots.AgentCritical != 0,
			Service: id.Flags&slots.AgentService != 0, PID: id.PID, Restarts: id.Restarts}
		if res, ok := read(resSlot); ok && res.Stamp > 0 && slots.ValidAgentResult(res) {
			a.Message, a.AgeS = res.Text, ago(res.Stamp)
			if res.Interval == 0 || ago(res.Stamp) <= float64(res.Interval)/1e9 {
				a.Value = res.Value.String()
				if s := agents.ParseStats(slots.ParseAgentResult(res)); s.Valid && perf == nil {
					perf = &Perf{CPUPercent: s.CPUPercent, MemPercent: s.MemPercent, NetPacketsIn: s.NetPacketsIn,
						NetPacketsOut: s.NetPacketsOut, DiskReads: s.DiskReads, DiskWrites: s.DiskWrites, Load1: s.Load1}
				}
			}
		}
		out = append(out, a)
	}
	return out, perf
}

func pathName(cfg *config.Config, i int) string {
	if i < len(cfg.UDP) {
		return cfg.UDP[i].Name
	}
	return cfg.Serial[i-len(cfg.UDP)].Name
}

func stateText(s wire.State) string {
	if !s.Valid() {
		return "?"
	}
	return s.String()
}

func flagText(f wire.Flags) string {
	var parts []string
	if f&wire.FlagUnhealthy != 0 {
		parts = append(parts, "unhealthy")
	}
	if f&wire.FlagStopping != 0 {
		parts = append(parts, "stopping")
	}
	if f&wire.FlagServiceFailed != 0 {
		parts = append(parts, "service-failed")
	}
	return strings.Join(parts, ",")
}

// Text formats the status for a terminal.
func (s Status) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pair %s\n", s.Pair)
	fmt.Fprintf(&b, "node %d %-10s state %s  holds %s %s\n", s.Node.ID, s.Node.Name, s.Node.State, s.Node.Held, s.Node.Flags)
	peer := "silent"
	if s.Peer.Alive {
		peer = fmt.Sprintf("heard %.3fs ago", s.Peer.LastHeardS)
	}
	fmt.Fprintf(&b, "peer %d %-10s state %s  holds %s %s (%s)\n", s.Peer.ID, s.Peer.Name, s.Peer.State, s.Peer.Held, s.Peer.Flags, peer)
	b.WriteString("paths:\n")
	for _, p := range s.Paths {
		fmt.Fprintf(&b, "  %-10s %-4s last heard %7.3fs ago  frames %d  late %d  downs %d  rtt %.2fms  max gap %.1fms  loss %.0f%%\n",
			p.Name, upDown(p.Up), p.LastHeardS, p.Heard, p.Late, p.Downs, p.RTTMs, p.MaxGapMs, p.LossPercent)
	}
	if len(s.Resources) > 0 {
		b.WriteString("resources:\n")
	}
	for _, r := range s.Resources {
		held := "not held"
		if r.Held {
			held = "HELD"
		}
		var entries []string
		for _, e := range r.Entries {
			entries = append(entries, e.Kind+" "+e.Name)
		}
		fmt.Fprintf(&b, "  %-3s %-8s %-8s %s\n", r.Group, r.Table, held, strings.Join(entries, ", "))
	}
	b.WriteString("processes:\n")
	for _, d := range s.Daemons {
		alive := "HUNG/DEAD"
		if d.Alive {
			alive = "alive"
		}
		fmt.Fprintf(&b, "  %-8s pid %-7d %-9s %-8s updated %.3fs ago  restarts %d", d.Role, d.PID, alive, d.Phase, d.UpdatedS, d.Restarts)
		if d.Sched != "" {
			fmt.Fprintf(&b, "  %s", d.Sched)
		}
		if d.Stalls > 0 {
			fmt.Fprintf(&b, "  stalls %d (longest %.1f ms)", d.Stalls, d.MaxStallMs)
		}
		b.WriteString("\n")
	}
	if p := s.Perf; p != nil {
		fmt.Fprintf(&b, "perf: %s\n", p.Text())
	}
	if len(s.Agents) > 0 {
		b.WriteString("agents:\n")
	}
	for _, a := range s.Agents {
		policy := "alert"
		if a.Critical {
			policy = "critical"
		}
		scope := "node"
		if a.Service {
			scope = "service"
		}
		fmt.Fprintf(&b, "  %-12s %-11s %-8s %-7s %5.1fs ago  restarts %d  %s\n", a.Name, a.Value, policy, scope, a.AgeS, a.Restarts, a.Message)
	}
	if len(s.Transitions) > 0 {
		b.WriteString("transitions:\n")
	}
	for _, t := range s.Transitions {
		fmt.Fprintf(&b, "  %s  %s → %s  %s\n", t.Time.Local().Format("2006-01-02 15:04:05.000"), t.From, t.To, t.Text)
	}
	d := s.Drops
	fmt.Fprintf(&b, "dropped frames: other cluster %d, bad MAC %d, replay %d, truncated %d, invalid %d, serial garbage %d\n",
		d.Cluster, d.MAC, d.Replay, d.Short, d.Invalid, d.Serial)
	if s.Admin != nil {
		fmt.Fprintf(&b, "last admin request #%d: ok=%v %s\n", s.Admin.ID, s.Admin.OK, s.Admin.Text)
	}
	return b.String()
}

// Text formats the figures on one line.
func (p *Perf) Text() string {
	return fmt.Sprintf("cpu %.1f%%  mem %.1f%%  net %.0f/%.0f pkt/s in/out  disk %.0f/%.0f op/s r/w  load %.2f",
		p.CPUPercent, p.MemPercent, p.NetPacketsIn, p.NetPacketsOut, p.DiskReads, p.DiskWrites, p.Load1)
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}
