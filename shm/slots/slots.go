// Package slots says what each slot of the shared record table means: the
// typed records that had1, had2, the sender, the receiver and the console
// exchange through package shm. Each type converts to and from a
// shm.Record; the word-by-word meaning is written next to each type, and
// LAYOUT.md in package shm points here for other languages.
package slots

import (
	"errors"
	"fmt"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
)

// Daemon is a daemon's own slot (SlotHad1, SlotHad2, SlotSender,
// SlotReceiver, SlotAdminSrv): liveness for its supervisor plus a few
// role-specific words.
//
//	Value    OK, or WARNING/ERROR with Text saying why
//	Interval the writer's hang timeout: older than this reads as stale
//	Counter  bumped at least every liveness period, from the main loop
//	Data[0]  process start time (field 22 of /proc/PID/stat): tells a reused PID
//	Data[1]  Phase
//	Data[2:] Extra, by role (see the Extra* constants)
type Daemon struct {
	Value    shm.Value
	PID      int32
	Interval int64
	Counter  uint64
	Start    uint64
	Phase    Phase
	Extra    [shm.DataWords - 2]uint64
	Text     string
}

// Phase is a daemon's life stage. Append only.
type Phase uint64

const (
	PhaseNone     Phase = 0
	PhaseStarting Phase = 1 // had1: creating the table and starting processes
	PhaseRunning  Phase = 2 // had1: the comm processes are up ("PING start" for had2)
	PhaseStopping Phase = 3 // a deliberate shutdown: do not restart anything
	PhaseFailSafe Phase = 4 // the node gave up: do not restart anything
)

// Extra words, by role.
const (
	// had1: reload requests (SIGHUP) answered, and restarts of the processes it keeps
	ExtraReloadGen        = 0 // reloads done (ok or refused); the answer is the Text
	ExtraReloadOK         = 1 // 1 when the last reload was applied
	ExtraRestartsHad2     = 2
	ExtraRestartsSender   = 3
	ExtraRestartsReceiver = 4
	ExtraRestartsAdmin    = 5
	// had2 (ExtraEvents, 3, is below with the events)
	ExtraReplyID = 0 // the admin request answered last
	ExtraReplyOK = 1 // 1 when it succeeded; the answer is the Text
	// sender
	ExtraSeq         = 0 // the last sequence number used in this epoch
	ExtraSent        = 1 // frames sent, all paths
	ExtraControlSeen = 2 // SlotSend control messages already sent (Send.Count), so a restart neither repeats nor skips
	// receiver: frames dropped, by reason
	ExtraDropCluster = 0
	ExtraDropMAC     = 1 // bad MAC or unknown key
	ExtraDropReplay  = 2 // replayed (duplicates across paths are not counted)
	ExtraDropShort   = 3 // truncated or oversized
	ExtraDropInvalid = 4 // authentic but malformed
	ExtraDropSerial  = 5 // serial garbage bytes and bad CRCs
	ExtraAccepted    = 6
	// admin server
	ExtraAlertSeen = 0 // the last event (slots.Event N) handed to the alerts, so a restart neither repeats nor skips
	// sender and receiver: their own scheduling stalls, a wake-up later
	// than planned by more than the role's threshold (the process was not
	// run); the receiver does not count them against the peer
	ExtraStalls   = 7 // stalls since the table was made
	ExtraMaxStall = 8 // the longest, ns
	// every daemon
	ExtraSched = 9 // the scheduling it runs with: Sched.Word
)

// SchedPolicy is a daemon's scheduling policy as its slot reports it.
// Append only.
type SchedPolicy uint8

const (
	SchedOther SchedPolicy = 0 // the normal time-sharing policy
	SchedFIFO  SchedPolicy = 1
	SchedRR    SchedPolicy = 2
)

// MemLock is how a daemon's memory is locked (mlockall). Append only.
type MemLock uint8

const (
	LockNone    MemLock = 0
	LockCurrent MemLock = 1 // MCL_CURRENT
	LockAll     MemLock = 2 // MCL_CURRENT|MCL_FUTURE
	LockOnFault MemLock = 3 // MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT
)

// Sched is the scheduling a daemon runs with, in its slot's ExtraSched
// word:
//
//	bits 0-7   SchedPolicy      bits 8-15  priority (1-99; 0 for SchedOther)
//	bits 16-23 MemLock          bit 24     Denied: realtime settings were
//	                                       configured but refused (no privilege)
//	bit 25     Set: the word is filled in (a daemon that predates it leaves 0)
type Sched struct {
	Policy   SchedPolicy
	Priority uint8
	Lock     MemLock
	Denied   bool
}

// Word encodes s for ExtraSched.
func (s Sched) Word() uint64 {
	w := uint64(s.Policy) | uint64(s.Priority)<<8 | uint64(s.Lock)<<16 | 1<<25
	if s.Denied {
		w |= 1 << 24
	}
	return w
}

// ParseSched decodes ExtraSched; ok is false when the daemon did not fill
// it in.
func ParseSched(w uint64) (s Sched, ok bool) {
	if w&(1<<25) == 0 {
		return Sched{}, false
	}
	return Sched{Policy: SchedPolicy(w), Priority: uint8(w >> 8), Lock: MemLock(w >> 16), Denied: w&(1<<24) != 0}, true
}

// String is the short form the console shows: "rr:20 mlock onfault",
// "other", "other (realtime denied)".
func (s Sched) String() string {
	var b string
	switch s.Policy {
	case SchedFIFO:
		b = fmt.Sprintf("fifo:%d", s.Priority)
	case SchedRR:
		b = fmt.Sprintf("rr:%d", s.Priority)
	default:
		b = "other"
	}
	switch s.Lock {
	case LockCurrent:
		b += " mlock current"
	case LockAll:
		b += " mlock all"
	case LockOnFault:
		b += " mlock onfault"
	}
	if s.Denied {
		b += " (realtime denied)"
	}
	return b
}

// Record converts d for shm.Table.Write.
func (d Daemon) Record() shm.Record {
	r := shm.Record{Type: shm.TypeDaemon, Value: d.Value, PID: d.PID, Interval: d.Interval, Counter: d.Counter, Text: d.Text}
	r.Data[0], r.Data[1] = d.Start, uint64(d.Phase)
	copy(r.Data[2:], d.Extra[:])
	return r
}

// ParseDaemon reads a daemon slot's record.
func ParseDaemon(r shm.Record) Daemon {
	d := Daemon{Value: r.Value, PID: r.PID, Interval: r.Interval, Counter: r.Counter, Start: r.Data[0], Phase: Phase(r.Data[1]), Text: r.Text}
	copy(d.Extra[:], r.Data[2:])
	return d
}

// SendQueue is how many control messages SlotSend remembers. had2 emits at
// most a few per step; the sender reads the slot far more often than that.
const SendQueue = 8

// Control is one control message for the sender to send.
type Control struct {
	Kind  wire.Kind
	Flags wire.Flags
	ReqID uint32
}

// Send is SlotSend: what had2 wants the peer to hear.
//
//	Data[0]    state | held<<8 | flags<<24   (the heartbeat's content)
//	Data[1]    Count: control messages queued since the table was made
//	Data[2+i]  message number n sits at i = n % SendQueue: kind | flags<<8 | reqid<<32
type Send struct {
	State wire.State
	Held  wire.Groups
	Flags wire.Flags
	Count uint64
	Queue [SendQueue]Control
}

// Push queues a control message.
func (s *Send) Push(c Control) {
	s.Count++
	s.Queue[s.Count%SendQueue] = c
}

// Since returns the control messages queued after message number seen, oldest
// first, and how many were lost because the queue wrapped.
func (s *Send) Since(seen uint64) (msgs []Control, lost uint64) {
	if seen >= s.Count {
		return nil, 0
	}
	from := seen + 1
	if s.Count-seen > SendQueue {
		lost = s.Count - seen - SendQueue
		from = s.Count - SendQueue + 1
	}
	for n := from; n <= s.Count; n++ {
		msgs = append(msgs, s.Queue[n%SendQueue])
	}
	return msgs, lost
}

// Record converts s for shm.Table.Write.
func (s Send) Record() shm.Record {
	r := shm.Record{Type: shm.TypeSend}
	r.Data[0] = uint64(s.State) | uint64(s.Held)<<8 | uint64(s.Flags)<<24
	r.Data[1] = s.Count
	for i, c := range s.Queue {
		r.Data[2+i] = uint64(c.Kind) | uint64(c.Flags)<<8 | uint64(c.ReqID)<<32
	}
	return r
}

// ParseSend reads SlotSend.
func ParseSend(r shm.Record) Send {
	s := Send{State: wire.State(r.Data[0]), Held: wire.Groups(r.Data[0] >> 8), Flags: wire.Flags(r.Data[0] >> 24), Count: r.Data[1]}
	for i := range s.Queue {
		w := r.Data[2+i]
		s.Queue[i] = Control{Kind: wire.Kind(w), Flags: wire.Flags(w >> 8), ReqID: uint32(w >> 32)}
	}
	return s
}

// Frame is what the receiver keeps of one accepted frame.
//
//	Data[0] kind | state<<8 | held<<16 | flags<<32 | path<<40
//	Data[1] reqid   Data[2] epoch   Data[3] seq
//	Data[4] heard: our CLOCK_MONOTONIC ns at acceptance
//	Data[5] sent: the peer's wall clock, unix ns
type Frame struct {
	Kind  wire.Kind
	State wire.State
	Held  wire.Groups
	Flags wire.Flags
	Path  uint8
	ReqID uint32
	Epoch uint64
	Seq   uint64
	Heard int64
	Sent  int64
}

func (f Frame) put(d *[shm.DataWords]uint64) {
	d[0] = uint64(f.Kind) | uint64(f.State)<<8 | uint64(f.Held)<<16 | uint64(f.Flags)<<32 | uint64(f.Path)<<40
	d[1], d[2], d[3], d[4], d[5] = uint64(f.ReqID), f.Epoch, f.Seq, uint64(f.Heard), uint64(f.Sent)
}

func getFrame(d *[shm.DataWords]uint64) Frame {
	return Frame{Kind: wire.Kind(d[0]), State: wire.State(d[0] >> 8), Held: wire.Groups(d[0] >> 16),
		Flags: wire.Flags(d[0] >> 32), Path: uint8(d[0] >> 40), ReqID: uint32(d[1]), Epoch: d[2], Seq: d[3],
		Heard: int64(d[4]), Sent: int64(d[5])}
}

// Peer is SlotPeer: the receiver's view of the peer.
//
//	Value    OK, or OVERTIME while every path has been silent for the dead time
//	Data[0:6] the last accepted frame (Frame); its epoch and seq are also the
//	         receiver's replay window, kept here so a restart does not reopen it
//	Data[6]  Messages: control messages written to the ring so far
//	Data[7]  Accepted: frames accepted so far
type Peer struct {
	Overtime bool
	Last     Frame
	Messages uint64
	Accepted uint64
}

// Record converts p for shm.Table.Write.
func (p Peer) Record() shm.Record {
	r := shm.Record{Type: shm.TypePeer, Value: shm.OK}
	if p.Overtime {
		r.Value = shm.Overtime
	}
	p.Last.put(&r.Data)
	r.Data[6], r.Data[7] = p.Messages, p.Accepted
	return r
}

// ParsePeer reads SlotPeer.
func ParsePeer(r shm.Record) Peer {
	return Peer{Overtime: r.Value == shm.Overtime, Last: getFrame(&r.Data), Messages: r.Data[6], Accepted: r.Data[7]}
}

// MessageSlot returns the ring slot of control message number n (1-based).
func MessageSlot(n uint64) int { return shm.SlotRing0 + int(n%shm.RingSize) }

// Message converts the control frame number n for its ring slot; Counter
// carries n so a reader can tell an overwritten entry.
func Message(n uint64, f Frame) shm.Record {
	r := shm.Record{Type: shm.TypeMessage, Value: seedValue(f.Kind), Counter: n}
	f.put(&r.Data)
	return r
}

// ParseMessage reads a ring slot.
func ParseMessage(r shm.Record) (n uint64, f Frame) { return r.Counter, getFrame(&r.Data) }

// seedValue maps a wire kind to the record value the seed uses for it.
func seedValue(k wire.Kind) shm.Value {
	switch k {
	case wire.Takeover:
		return shm.Takeover
	case wire.Recover:
		return shm.Recover
	case wire.TakeRequest:
		return shm.TakeRequest
	case wire.TakeAck:
		return shm.TakeoverAck
	case wire.RecoverAck:
		return shm.RecoverAck
	}
	return shm.OK
}

// Path is SlotPath0+i: one heartbeat path as the receiver sees it.
//
//	Value   OK while frames arrive, WARNING once silent for the dead time
//	Text    the path's name
//	Data[0] last heard (CLOCK_MONOTONIC ns)   Data[1] frames heard (authentic, incl. copies seen first elsewhere)
//	Data[2] late heartbeats (gap > warntime)  Data[3] times the path went down
//	Data[4] last gap between frames, ns       Data[5] largest gap, ns
//	Data[6] frames dropped on this path        Data[7] round-trip time, ns (0: unknown)
//	Data[8] up since (CLOCK_MONOTONIC ns)
//	Data[9] loss, in thousandths: of the last 100 frames the peer sent (by
//	        sequence number, seen on any path), how many this path did not
//	        deliver; frames still on their way count once the path is down
//	Data[10] frames this path missed, all time (gaps in its sequence numbers)
type Path struct {
	Name         string
	Up           bool
	LastHeard    int64
	Heard        uint64
	Late         uint64
	Downs        uint64
	LastGap      int64
	MaxGap       int64
	Dropped      uint64
	RTT          int64
	UpSince      int64
	LossPermille uint64
	Lost         uint64
}

// Record converts p for shm.Table.Write.
func (p Path) Record() shm.Record {
	r := shm.Record{Type: shm.TypePath, Value: shm.OK, Text: p.Name}
	if !p.Up {
		r.Value = shm.Warning
	}
	r.Data[0], r.Data[1], r.Data[2], r.Data[3] = uint64(p.LastHeard), p.Heard, p.Late, p.Downs
	r.Data[4], r.Data[5], r.Data[6], r.Data[7] = uint64(p.LastGap), uint64(p.MaxGap), p.Dropped, uint64(p.RTT)
	r.Data[8], r.Data[9], r.Data[10] = uint64(p.UpSince), p.LossPermille, p.Lost
	return r
}

// ParsePath reads a path slot.
func ParsePath(r shm.Record) Path {
	return Path{Name: r.Text, Up: r.Value == shm.OK, LastHeard: int64(r.Data[0]), Heard: r.Data[1], Late: r.Data[2],
		Downs: r.Data[3], LastGap: int64(r.Data[4]), MaxGap: int64(r.Data[5]), Dropped: r.Data[6], RTT: int64(r.Data[7]),
		UpSince: int64(r.Data[8]), LossPermille: r.Data[9], Lost: r.Data[10]}
}

// Admin is SlotAdmin: the operator's latest request. had2 answers in its
// own slot (ExtraReplyID, ExtraReplyOK, Text).
//
//	Counter, Data[0] request id (grows)   Data[1] command (fsm.AdminCmd)
type Admin struct {
	ID  uint64
	Cmd uint8
}

// Record converts a for shm.Table.Write.
func (a Admin) Record() shm.Record {
	r := shm.Record{Type: shm.TypeAdmin, Counter: a.ID}
	r.Data[0], r.Data[1] = a.ID, uint64(a.Cmd)
	return r
}

// ParseAdmin reads SlotAdmin.
func ParseAdmin(r shm.Record) Admin { return Admin{ID: r.Data[0], Cmd: uint8(r.Data[1])} }

// AgentSlots returns agent i's two slots: its PID record, written by had1,
// and its result, written by the agent.
func AgentSlots(i int) (id, result int) {
	return shm.SlotAgent0 + 2*i, shm.SlotAgent0 + 2*i + 1
}

// MetricWords is how many data words an agent result carries.
const MetricWords = shm.DataWords

// AgentResult is an agent's result slot, written by the agent itself (a
// built-in had-agent, a user program through package agents or hactl, or
// any language following LAYOUT.md).
//
//	Type     TypeAgent
//	Value    OK, INFORMATION, WARNING or ERROR; anything else is garbage:
//	         had1 restarts the agent
//	Interval the agent promises to rewrite the slot within this many ns;
//	         had1 kills and restarts an agent that does not
//	Counter  bumped at every check
//	Text     the check's message, for humans
//	Data     metrics, meaning by agent kind (the statistics agent: see
//	         package agents)
type AgentResult struct {
	Value    shm.Value
	Interval int64
	Counter  uint64
	Text     string
	Metrics  [MetricWords]uint64
}

// Record converts r for shm.Table.Write.
func (r AgentResult) Record() shm.Record {
	return shm.Record{Type: shm.TypeAgent, Value: r.Value, Interval: r.Interval, Counter: r.Counter, Text: r.Text, Data: r.Metrics}
}

// ParseAgentResult reads an agent's result slot.
func ParseAgentResult(r shm.Record) AgentResult {
	return AgentResult{Value: r.Value, Interval: r.Interval, Counter: r.Counter, Text: r.Text, Metrics: r.Data}
}

// ValidAgentResult reports whether a result record is well formed: the right type and
// a value an agent may report.
func ValidAgentResult(r shm.Record) bool {
	return r.Type == shm.TypeAgent && r.Value <= shm.Error
}

// AgentID is an agent's PID slot, written by had1 whenever it starts the
// agent, so that had2 and the console know which agent a slot pair holds.
//
//	PID      the agent's process
//	Text     the agent's name
//	Data[0]  restarts so far
//	Data[1]  flags: AgentCritical, AgentService
//	Data[2]  the process's start time (/proc/PID/stat field 22): a restarted
//	         had1 adopts the agent only if it is still that process
//	Data[3]  its rise: good checks in a row before it reports OK again
type AgentID struct {
	PID      int32
	Name     string
	Restarts uint64
	Flags    uint64
	Start    uint64
	Rise     uint64
}

// AgentID flags.
const (
	AgentCritical = 1 << 0 // its ERROR hands the node's groups over
	AgentService  = 1 << 1 // it watches the services the node runs (else the node itself)
)

// Record converts a for shm.Table.Write.
func (a AgentID) Record() shm.Record {
	r := shm.Record{Type: shm.TypeAgentID, PID: a.PID, Text: a.Name}
	r.Data[0], r.Data[1], r.Data[2], r.Data[3] = a.Restarts, a.Flags, a.Start, a.Rise
	return r
}

// ParseAgentID reads an agent's PID slot.
func ParseAgentID(r shm.Record) AgentID {
	return AgentID{PID: r.PID, Name: r.Text, Restarts: r.Data[0], Flags: r.Data[1], Start: r.Data[2], Rise: r.Data[3]}
}

// EventKind says what an event is about. Append only.
type EventKind uint64

const (
	EventAlert      EventKind = 1 // something an operator should hear of (the state machine's alerts)
	EventTransition EventKind = 2 // the node's N/T/R/D state changed (From, To)
	EventAgent      EventKind = 3 // an agent's verdict changed
	EventPath       EventKind = 4 // a heartbeat path went down or came back
	EventAdmin      EventKind = 5 // an operator's request was answered
	EventTable      EventKind = 6 // a table ran: Data[3] its duration in ns, Data[4] 1 start or 2 stop
)

var eventNames = map[EventKind]string{EventAlert: "alert", EventTransition: "transition", EventAgent: "agent",
	EventPath: "path", EventAdmin: "admin", EventTable: "table"}

func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return "event"
}

// Event is one entry of the events ring, written by had2 and read by the
// admin server (alerts, the console's recent transitions). had2 counts the
// events in its own slot (ExtraEvents) after writing each entry, and rings
// shm.BellAdmin.
//
//	Slot     shm.SlotEvent0 + N % shm.EventRing
//	Counter  N (1-based): a reader tells an overwritten entry
//	Value    INFORMATION, WARNING or ERROR
//	Text     what happened, for humans
//	Data[0]  wall clock, unix ns
//	Data[1]  kind (EventKind)
//	Data[2]  transitions: from | to<<8 (wire.State)
//	Data[3]  table runs: the duration in ns
//	Data[4]  table runs: 1 start, 2 stop
type Event struct {
	N     uint64
	Level shm.Value
	Kind  EventKind
	Time  int64
	From  wire.State
	To    wire.State
	Took  int64 // table runs
	Start bool  // table runs: a start (else a stop)
	Text  string
}

// ExtraEvents is had2's Extra word counting the events written so far.
const ExtraEvents = 3

// EventSlot returns the ring slot of event n.
func EventSlot(n uint64) int { return shm.SlotEvent0 + int(n%shm.EventRing) }

// Record converts e for shm.Table.Write.
func (e Event) Record() shm.Record {
	r := shm.Record{Type: shm.TypeEvent, Value: e.Level, Counter: e.N, Text: e.Text}
	r.Data[0], r.Data[1], r.Data[2], r.Data[3] = uint64(e.Time), uint64(e.Kind), uint64(e.From)|uint64(e.To)<<8, uint64(e.Took)
	if e.Kind == EventTable {
		r.Data[4] = 2
		if e.Start {
			r.Data[4] = 1
		}
	}
	return r
}

// ParseEvent reads an event slot.
func ParseEvent(r shm.Record) Event {
	return Event{N: r.Counter, Level: r.Value, Kind: EventKind(r.Data[1]), Time: int64(r.Data[0]),
		From: wire.State(r.Data[2]), To: wire.State(r.Data[2] >> 8), Took: int64(r.Data[3]), Start: r.Data[4] == 1, Text: r.Text}
}

// eventReader is what ReadEvents needs of a table.
type eventReader interface {
	Read(slot int) (shm.Record, error)
}

// ReadEvents returns the events after number seen, oldest first, and the
// newest number: those still in the ring (older ones are lost, and so is
// one overwritten while being read).
func ReadEvents(t eventReader, seen uint64) (events []Event, newest uint64) {
	r, err := t.Read(shm.SlotHad2)
	if err != nil && !errors.Is(err, shm.ErrStale) {
		return nil, seen
	}
	newest = ParseDaemon(r).Extra[ExtraEvents]
	if newest < seen {
		seen = 0 // a new table counts from 1 again
	}
	from := seen + 1
	if newest >= shm.EventRing && newest-shm.EventRing+1 > from {
		from = newest - shm.EventRing + 1
	}
	for n := from; n <= newest; n++ {
		r, err := t.Read(EventSlot(n))
		if err != nil && !errors.Is(err, shm.ErrStale) {
			continue
		}
		if e := ParseEvent(r); r.Type == shm.TypeEvent && e.N == n {
			events = append(events, e)
		}
	}
	return events, newest
}
