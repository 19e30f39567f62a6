// Package config holds one node's configuration: the TOML file, the key
// file, and the rules that make a configuration valid. Every error names the
// file, the line and the field, and loading either returns a whole, valid
// Config or nothing.
package config

import (
	"net/netip"
	"time"
)

// Mode says which nodes own resources (SPEC §4).
type Mode string

const (
	// Asymmetric: only the primary owns a group; the other node stands by
	// and has only a TAKEOVER table.
	Asymmetric Mode = "asymmetric"
	// Symmetric: both nodes own a group and each can take the other's.
	Symmetric Mode = "symmetric"
)

// Failback says what happens when a failed node comes back.
type Failback string

const (
	// FailbackAuto: the recovered node asks for its group back at once (the seed's behaviour).
	FailbackAuto Failback = "auto"
	// FailbackManual: the recovered node waits in standby until `hactl recover`.
	FailbackManual Failback = "manual"
)

// Config is one node's configuration.
type Config struct {
	// File is the path the configuration was read from (for messages).
	File string

	ClusterID uint32 // frames of another cluster are dropped
	NodeID    uint8  // this node: 1 or 2
	PeerID    uint8  // derived: the other of 1 and 2
	NodeName  string // for logs and alerts; default "node<id>"
	PeerName  string // default "node<peer id>"

	Mode     Mode
	Primary  uint8 // asymmetric mode: the node that owns the group
	Failback Failback

	KeyFile       string // shared HMAC keys, mode 0600
	RecoverTable  string // this node's own resources; empty when it owns none
	TakeoverTable string // the peer's resources as this node runs them; empty when the peer owns none
	ShmPath       string // the record table, in /dev/shm
	StateDir      string // persistent state (the boot epoch)
	BinDir        string // where had2, had-sender and had-receiver live; default: had1's own directory
	LogLevel      string // zerolog level name
	AgentsDir     string // user-supplied agents, one executable per agent; empty: none

	Timers    Timers
	UDP       []UDPPath
	Serial    []SerialPath
	Fence     Fence
	Supervise Supervise
	Realtime  Realtime
	Admin     Admin
	Alerts    Alerts
	Agents    []Agent // the configured agents, in file order (package agents adds the agents directory's)
}

// Timers are the heartbeat timers of SPEC §3 and the handshake timers of §4.
type Timers struct {
	Interval   time.Duration // heartbeat period
	Warntime   time.Duration // a heartbeat later than this is logged as late
	Deadtime   time.Duration // all paths silent this long: OVERTIME; ≥ 3 × Interval
	Initdead   time.Duration // at boot, how long to wait for the peer before acting alone
	AckTimeout time.Duration // how long to wait for TAKEACK from a silent peer
	Retransmit time.Duration // control messages are resent this often until acked
}

// UDPPath is one Ethernet heartbeat path.
type UDPPath struct {
	Name      string         // for logs and status; default "udp<index>"
	Local     netip.AddrPort // bind address
	Peer      netip.AddrPort // the peer's receiver
	Interface string         // optional: bind to this device (SO_BINDTODEVICE)
}

// SerialPath is one RS-232 heartbeat path.
type SerialPath struct {
	Name   string // default "serial<index>"
	Device string // e.g. /dev/ttyS0
	Baud   int    // 9600 … 115200, 8N1
}

// Fence is the optional command run before a takeover after OVERTIME.
type Fence struct {
	Command  string        // run with /bin/sh -c; empty: no fencing
	Timeout  time.Duration // the command is killed after this
	Required bool          // do not take over when fencing fails
}

// Supervise tunes how had1 and had2 watch the node's processes.
type Supervise struct {
	Liveness      time.Duration // every process bumps its counter about this often (on a grid: at most 1.5× apart)
	HangTimeout   time.Duration // a counter stopped this long means the process hangs
	BrainGrace    time.Duration // the sender stops heartbeats when had2 is gone this long
	MaxRestarts   int           // this many restarts of one process within RestartWindow: fail safe
	RestartWindow time.Duration
	BackoffMin    time.Duration // first restart delay after a quick crash
	BackoffMax    time.Duration
}

// DefaultTimers are the shipped heartbeat timers, chosen from measurements
// on a 2-vCPU VM (README, "Defaults"): a power-off fails over in about
// 0.35 s, the node costs under 1% of a core at idle (every wake-up of a Go
// process costs ~0.1 ms there, so heartbeats are not sent faster than
// needed), and the peer is declared dead only after 350 ms of silence on
// every path, which a scheduling stall on a busy machine does not reach.
func DefaultTimers() Timers {
	return Timers{
		Interval:   100 * time.Millisecond, // 10 frames/s per path: 0.9 kB/s on UDP, 930 B/s on serial
		Warntime:   200 * time.Millisecond, // two intervals: a late heartbeat worth a log line
		Deadtime:   350 * time.Millisecond, // three and a half intervals of silence on every path
		Initdead:   3 * time.Second,        // a booting peer gets this long to show up
		AckTimeout: 50 * time.Millisecond,  // a peer silent for deadtime is not going to answer
		Retransmit: 20 * time.Millisecond,  // control messages go faster than heartbeats
	}
}

// DefaultSupervise returns the shipped supervision settings.
func DefaultSupervise() Supervise {
	return Supervise{
		// Every wake-up of a process costs 0.1–0.8 ms of CPU on a small VM,
		// and had1, had2 and the console wake only for their liveness
		// ticks, so these are slow (at 250 ms the three used about 0.1 % of
		// a core more, per-process samples); a hang is rare, and the dead
		// time fails over a hung heartbeat path long before 2 s.
		Liveness:      500 * time.Millisecond,
		HangTimeout:   2 * time.Second, // four periods, bumps at most 1.5 apart: a stall, not a slow tick
		BrainGrace:    3 * time.Second, // longer than HangTimeout plus a restart
		MaxRestarts:   10,
		RestartWindow: 60 * time.Second,
		BackoffMin:    10 * time.Millisecond,
		BackoffMax:    2 * time.Second,
	}
}

// HangCheck is how often a supervisor looks at a process's slot for a
// hang: every liveness period (on the daemons' shared grid, so the checks
// and the bumps share wake-ups), and at least four times a hang timeout.
func (s Supervise) HangCheck() time.Duration {
	return min(s.Liveness, s.HangTimeout/4)
}

// OwnGroup returns whether this node owns a resource group.
func (c *Config) OwnGroup() bool {
	return c.Mode == Symmetric || c.Primary == c.NodeID
}

// PeerGroup returns whether the peer owns a resource group.
func (c *Config) PeerGroup() bool {
	return c.Mode == Symmetric || c.Primary == c.PeerID
}
