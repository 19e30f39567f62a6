// Package fsm is had's pure N/T/R/D state machine (SPEC §4). It owns no
// sockets, files, clocks, goroutines or loggers: the driver feeds it events
// with the current monotonic time and carries out the effects it returns,
// so that two machines can be simulated together, deterministically, over a
// lossy and partitionable network.
//
// The safety argument, which the simulation tests check under faults: a
// node starts a group only while it holds a permit for it, and permits move
// between the nodes only by handshake. A node revokes its own permit before
// it sends a message that hands the group over (TAKEACK, RECOVERACK,
// TAKEOVER), and it starts the group only when the peer's latest frame
// shows the peer no longer holds it. The one exception is a peer declared
// dead (OVERTIME that lasted through the TAKEREQUEST wait, after fencing
// when configured); when such a "dead" peer turns out to be alive, the
// group's home node keeps it and the other node releases it.
package fsm

import (
	"fmt"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

// Config is what the machine needs to know about the cluster.
type Config struct {
	Me, Peer     uint8 // node ids, 1 and 2
	OwnGroup     bool  // this node owns a group (its RECOVER table)
	PeerGroup    bool  // the peer owns a group (this node's TAKEOVER table)
	Preferred    uint8 // wins crossing TAKEREQUESTs; the primary in asymmetric mode
	AutoFailback bool

	Initdead   time.Duration // at boot, wait this long for the peer before acting alone
	AckTimeout time.Duration // TAKEREQUEST to a silent peer: take over after this
	Retransmit time.Duration // control messages are resent this often until answered
	GiveUpWait time.Duration // TAKEOVER is resent until the peer holds everything, at most this long
	RetryAfter time.Duration // a failed table start or fence is retried after this

	Fence         bool // a fence command is configured
	FenceRequired bool // do not take over when fencing fails
}

// Message is what the machine learns from one authenticated peer frame.
type Message struct {
	Kind  wire.Kind
	State wire.State
	Held  wire.Groups
	Flags wire.Flags
	ReqID uint32
	Epoch uint64
	Seq   uint64
}

// Event is an input to Step.
type Event interface{ isEvent() }

// Tick lets deadlines pass; it carries no information beyond the time.
type Tick struct{}

// Heard is a frame from the peer, delivered in sequence order.
type Heard struct{ Msg Message }

// PeerSilent is the receiver's OVERTIME: every path has been silent for the dead time.
type PeerSilent struct{}

// TableDone reports the end of a Start or Stop effect.
type TableDone struct {
	Group wire.Groups
	Start bool
	OK    bool
	Err   string
	Took  time.Duration // for the driver's records; the machine ignores it
}

// FenceDone reports the end of a Fence effect.
type FenceDone struct {
	OK  bool
	Err string
}

// Health is the verdict of the critical agents (SPEC §6).
type Health struct {
	// OK: no node-scoped critical agent (gateway, link, disk…) reports
	// ERROR. A node that is not OK is unfit: it hands its groups to a fit
	// peer, does not take any back, and tells the peer so (FlagUnhealthy).
	OK bool
	// ServiceFailed: a service-scoped critical agent (watching the
	// application this node runs) reports ERROR. It counts only while the
	// node holds a group, and then sticks: the node hands its groups to a
	// fit peer and does not recover them before the agent reports OK.
	ServiceFailed bool
}

// AdminCmd is an operator's request.
type AdminCmd uint8

// Admin commands. Append only: they are stored in the shared table.
const (
	AdminNone     AdminCmd = 0
	AdminTakeover AdminCmd = 1 // take every group
	AdminStandby  AdminCmd = 2 // hand every group to the peer and stay in standby
	AdminRecover  AdminCmd = 3 // leave standby and take this node's own group back
)

func (c AdminCmd) String() string {
	switch c {
	case AdminTakeover:
		return "takeover"
	case AdminStandby:
		return "standby"
	case AdminRecover:
		return "recover"
	}
	return fmt.Sprintf("AdminCmd(%d)", uint8(c))
}

// Shutdown asks the node to hand everything to the peer and stop acting:
// the graceful end of had on this node.
type Shutdown struct{}

// Admin is an operator's request, with an id the reply echoes.
type Admin struct {
	ID  uint64
	Cmd AdminCmd
}

func (Tick) isEvent()       {}
func (Heard) isEvent()      {}
func (PeerSilent) isEvent() {}
func (TableDone) isEvent()  {}
func (FenceDone) isEvent()  {}
func (Health) isEvent()     {}
func (Admin) isEvent()      {}
func (Shutdown) isEvent()   {}

// EffectKind names what the driver must do.
type EffectKind uint8

const (
	EffSend       EffectKind = iota + 1 // send Msg kind with ReqID and Flags on every path
	EffStart                            // run the table of Group forwards
	EffStop                             // run the table of Group backwards
	EffFence                            // run the fence command against the peer
	EffReannounce                       // re-send gratuitous ARP for Group's addresses
	EffTransition                       // the state changed from From to To
	EffAlert                            // tell the operator
	EffAdminReply                       // answer the admin request ID
	EffFailSafe                         // the node cannot guarantee safety: stop it
)

var effectNames = [...]string{"", "send", "start", "stop", "fence", "reannounce", "transition", "alert", "admin-reply", "failsafe"}

func (k EffectKind) String() string {
	if int(k) < len(effectNames) && k != 0 {
		return effectNames[k]
	}
	return fmt.Sprintf("EffectKind(%d)", uint8(k))
}

// Level ranks an alert.
type Level uint8

const (
	LevelInfo Level = iota
	LevelWarning
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelInfo:
		return "info"
	case LevelWarning:
		return "warning"
	}
	return "error"
}

// Effect is one thing the driver must do, in order.
type Effect struct {
	Kind  EffectKind
	Msg   wire.Kind   // EffSend
	ReqID uint32      // EffSend
	Flags wire.Flags  // EffSend
	Group wire.Groups // EffStart, EffStop, EffReannounce
	From  wire.State  // EffTransition
	To    wire.State  // EffTransition
	Level Level       // EffAlert
	Admin uint64      // EffAdminReply: the request id
	OK    bool        // EffAdminReply
	Text  string      // EffTransition reason, EffAlert, EffAdminReply, EffFailSafe
}

func (e Effect) String() string {
	switch e.Kind {
	case EffSend:
		return fmt.Sprintf("send %v#%d%s", e.Msg, e.ReqID, flagText(e.Flags))
	case EffStart, EffStop, EffReannounce:
		return fmt.Sprintf("%v %v", e.Kind, e.Group)
	case EffFence:
		return "fence"
	case EffTransition:
		return fmt.Sprintf("transition %v->%v (%s)", e.From, e.To, e.Text)
	case EffAlert:
		return fmt.Sprintf("alert %v: %s", e.Level, e.Text)
	case EffAdminReply:
		return fmt.Sprintf("admin-reply #%d ok=%v: %s", e.Admin, e.OK, e.Text)
	case EffFailSafe:
		return "failsafe: " + e.Text
	}
	return e.Kind.String()
}

func flagText(f wire.Flags) string {
	s := ""
	if f&wire.FlagAdmin != 0 {
		s += " admin"
	}
	if f&wire.FlagUnhealthy != 0 {
		s += " unhealthy"
	}
	if f&wire.FlagStopping != 0 {
		s += " stopping"
	}
	if f&wire.FlagServiceFailed != 0 {
		s += " service-failed"
	}
	return s
}
