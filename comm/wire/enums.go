package wire

import (
	"fmt"
	"math/bits"
	"strings"
)

// Kind is the message kind carried by a frame (SPEC §3). Append only: the
// numbers are on the wire.
type Kind uint8

const (
	OK          Kind = 0 // periodic heartbeat carrying the sender's state
	Takeover    Kind = 1 // "I have released everything: take it all"
	Recover     Kind = 2 // "I am back: give me my own group"
	TakeRequest Kind = 3 // "I want everything: release it and ack"
	TakeAck     Kind = 4 // "I have released everything you asked for"
	RecoverAck  Kind = 5 // "I have released your own group"
)

var kindNames = [...]string{"OK", "TAKEOVER", "RECOVER", "TAKEREQUEST", "TAKEACK", "RECOVERACK"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is a kind this version understands.
func (k Kind) Valid() bool { return int(k) < len(kindNames) }

// IsControl reports whether k is a control message (anything but OK).
func (k Kind) IsControl() bool { return k != OK && k.Valid() }

// State is a node's state in the seed's N/T/R/D model (SPEC §4). Append
// only: the numbers are on the wire and in the shared table. Zero is not a
// state, so an all-zero record never reads as one.
type State uint8

const (
	StateNone     State = 0
	StateNormal   State = 1 // N: serving its own group
	StateTakeover State = 2 // T: serving the peer's group as well
	StateRecover  State = 3 // R: back from failure, asking for its group
	StateDown     State = 4 // D: failed, booting, or standing by without resources
)

func (s State) String() string {
	switch s {
	case StateNormal:
		return "N"
	case StateTakeover:
		return "T"
	case StateRecover:
		return "R"
	case StateDown:
		return "D"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Valid reports whether s is one of N, T, R, D.
func (s State) Valid() bool { return s >= StateNormal && s <= StateDown }

// Groups is a set of resource groups. A group is named by its home node:
// bit (id-1) is the group whose home is node id. In a two-node cluster that
// is bit 0 for node 1 and bit 1 for node 2.
type Groups uint16

// GroupOf returns the group whose home is node id (1-based).
func GroupOf(node uint8) Groups {
	if node == 0 || node > 16 {
		return 0
	}
	return 1 << (node - 1)
}

// Has reports whether every group in o is in g.
func (g Groups) Has(o Groups) bool { return g&o == o }

// Any reports whether g and o share a group.
func (g Groups) Any(o Groups) bool { return g&o != 0 }

// Count returns how many groups g holds.
func (g Groups) Count() int { return bits.OnesCount16(uint16(g)) }

func (g Groups) String() string {
	if g == 0 {
		return "none"
	}
	var parts []string
	for i := 0; i < 16; i++ {
		if g&(1<<i) != 0 {
			parts = append(parts, fmt.Sprintf("g%d", i+1))
		}
	}
	return strings.Join(parts, ",")
}

// Flags carry facts about the sender that are not states. Append only.
type Flags uint8

const (
	// FlagUnhealthy: a critical agent on the sender reports ERROR, so the
	// sender is not fit to take resources over.
	FlagUnhealthy Flags = 1 << 0
	// FlagAdmin: the control message was asked for by an operator.
	FlagAdmin Flags = 1 << 1
	// FlagStopping: the sender is shutting down on purpose.
	FlagStopping Flags = 1 << 2
	// FlagServiceFailed: a critical agent watching the sender's services
	// reported ERROR while it ran them; it stands by until that agent
	// reports OK again.
	FlagServiceFailed Flags = 1 << 3
)
