// Package shm is the node's shared record table (SPEC §2): a file in
// /dev/shm, mapped MAP_SHARED by every had process of the node, holding one
// slot per writer. Each slot is guarded by its own sequence lock, so a
// writer that dies mid-write can never freeze a reader; readers wait a
// bounded time and report such a slot as stale.
//
// Binary layout, version 1 (all integers little-endian, every field 8-byte
// aligned and accessed with 64-bit atomics, so C, Python or a shell tool can
// read and write it; see LAYOUT.md):
//
//	offset 0    header, 256 bytes
//	  0  u64 magic      "HADSHM01" (0x31304d4853444148)
//	  8  u32 version    1
//	  12 u32 slot size  256
//	  16 u32 slot count
//	  20 u32 reserved
//	  24 u64 file size  256 + count*256
//	  32 i64 created    CLOCK_MONOTONIC ns when the table was made
//	  40 u64 epoch      this node's boot epoch (frames carry it)
//	  48 u32 bell had2  futex word: bumped to wake had2
//	  52 u32 bell send  futex word: bumped to wake the sender
//	  56 u32 bell admin futex word: bumped to wake the admin server
//	  60 … 255          reserved, zero (128 … 255: role locks)
//	offset 256 + i*256  slot i, 256 bytes
//	  0   u64 seq       sequence lock: odd while a write is in progress
//	  8   u32 type      what the record is (Type)
//	  12  u32 value     Value: OK … TAKEOVERACK
//	  16  i64 stamp     CLOCK_MONOTONIC ns of the write
//	  24  i64 interval  ns; the writer rewrites at least this often (0: no promise)
//	  32  i32 pid       the writer
//	  36  u32 reserved
//	  40  u64 counter   bumped by the writer; liveness for daemons
//	  48  u64 data[12]  meaning set by the slot's role
//	  144 u8  text[112] NUL-padded UTF-8, for humans
package shm

import "fmt"

// Layout constants. Changing any of them is a new layout Version.
const (
	Magic      uint64 = 0x31304d4853444148 // "HADSHM01" little-endian
	Version    uint32 = 2
	HeaderSize        = 256
	SlotSize          = 256
	DataWords         = 12
	TextSize          = 112

	MaxPaths  = 8  // heartbeat paths per node
	RingSize  = 16 // control messages from the peer kept for had2
	EventRing = 32 // events (transitions, alerts) kept for the admin server
	MaxAgents = 32
)

// Fixed slot indices. Each slot has exactly one writer, named here.
const (
	SlotHad1     = 0                        // had1: liveness; data: see had1
	SlotHad2     = 1                        // had2: liveness and the state machine's snapshot
	SlotSender   = 2                        // sender: liveness, sequence number, counters
	SlotReceiver = 3                        // receiver: liveness, replay window, drop counters
	SlotAdminSrv = 4                        // admin server: liveness
	SlotSend     = 5                        // "send to peer": written by had2, read by the sender
	SlotPeer     = 6                        // "received from peer": written by the receiver
	SlotAdmin    = 7                        // "received from admin": written by the admin server
	SlotFSM0     = 8                        // SlotFSM0..+3: had2's state-machine snapshot, double-buffered (see package slots)
	SlotPath0    = SlotFSM0 + 4             // SlotPath0+i: heartbeat path i, written by the receiver
	SlotRing0    = SlotPath0 + MaxPaths     // SlotRing0+n%RingSize: control messages from the peer
	SlotAgent0   = SlotRing0 + RingSize     // SlotAgent0+2i: agent i's PID; +2i+1: its result
	SlotEvent0   = SlotAgent0 + 2*MaxAgents // SlotEvent0+n%EventRing: event n from had2, for the admin server
	SlotCount    = SlotEvent0 + EventRing
	FileSize     = HeaderSize + SlotCount*SlotSize
)

// Value is a record's value, from the seed's figure (SPEC §2). Append only.
type Value uint32

const (
	OK          Value = 0
	Information Value = 1
	Warning     Value = 2
	Error       Value = 3
	Overtime    Value = 4
	Recover     Value = 5
	Takeover    Value = 6
	TakeRequest Value = 7
	RecoverAck  Value = 8
	TakeoverAck Value = 9
)

var valueNames = [...]string{"OK", "INFORMATION", "WARNING", "ERROR", "OVERTIME", "RECOVER", "TAKEOVER", "TAKEREQUEST", "RECOVERACK", "TAKEOVERACK"}

func (v Value) String() string {
	if int(v) < len(valueNames) {
		return valueNames[v]
	}
	return fmt.Sprintf("Value(%d)", uint32(v))
}

// Type says what a record is. Append only.
type Type uint32

const (
	TypeEmpty   Type = 0  // never written
	TypeDaemon  Type = 1  // a daemon's liveness record
	TypeSend    Type = 2  // SlotSend
	TypePeer    Type = 3  // SlotPeer
	TypeAdmin   Type = 4  // SlotAdmin
	TypePath    Type = 5  // a heartbeat path's status
	TypeMessage Type = 6  // a control message from the peer (ring)
	TypeAgent   Type = 7  // an agent's result
	TypeAgentID Type = 8  // an agent's PID record
	TypeFSM     Type = 9  // half of a state-machine snapshot
	TypeEvent   Type = 10 // an event from had2 (ring)
)

var typeNames = [...]string{"empty", "daemon", "send", "peer", "admin", "path", "message", "agent", "agent-pid", "fsm", "event"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint32(t))
}

// Record is one slot's content.
type Record struct {
	Type     Type
	Value    Value
	Stamp    int64 // CLOCK_MONOTONIC ns; set by Write
	Interval int64 // ns; 0: the record never goes stale by age
	PID      int32 // set by Write to the writer's PID when zero
	Counter  uint64
	Data     [DataWords]uint64
	Text     string // at most TextSize bytes; longer text is cut at a rune boundary
}
