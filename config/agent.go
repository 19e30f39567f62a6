package config

import (
	"time"

	"github.com/hadcluster/had/shm"
)

// AgentKind says what an agent checks (SPEC §6). Append only: kinds are
// written in configuration files.
type AgentKind string

// The agent kinds. Every kind but daemon is run by had-agent.
const (
	KindProcess AgentKind = "process" // a process is alive, by exact name or pid file
	KindHTTP    AgentKind = "http"    // a GET or HEAD answers with the expected status and body
	KindTCP     AgentKind = "tcp"     // a TCP connect succeeds
	KindGateway AgentKind = "gateway" // an address answers ICMP echo
	KindLink    AgentKind = "link"    // an interface has carrier (netlink, event driven)
	KindCPU     AgentKind = "cpu"     // CPU busy percentage under thresholds
	KindMemory  AgentKind = "memory"  // memory used percentage under thresholds
	KindDisk    AgentKind = "disk"    // a file system's used percentage under thresholds
	KindStats   AgentKind = "stats"   // the seed-002 statistics; always OK
	KindExec    AgentKind = "exec"    // a Nagios plugin run every interval
	KindDaemon  AgentKind = "daemon"  // the operator's long-running program writes its own slot
)

// AgentKinds lists every kind, in the order the documentation shows them.
var AgentKinds = []AgentKind{KindProcess, KindHTTP, KindTCP, KindGateway, KindLink, KindCPU, KindMemory, KindDisk, KindStats, KindExec, KindDaemon}

// AgentScope says what an agent's ERROR is about, which decides what a
// critical ERROR does (had2): a node-scoped one makes the node unfit to
// hold any group; a service-scoped one counts only while the node holds a
// group, and fails the service over.
type AgentScope string

const (
	// ScopeService: the agent watches the application the node runs.
	ScopeService AgentScope = "service"
	// ScopeNode: the agent watches the node's own fitness (uplink, disk).
	ScopeNode AgentScope = "node"
)

// MaxAgents is how many agents a node may have, configured and from the
// agents directory together: the table has this many agent slot pairs.
const MaxAgents = shm.MaxAgents

// Agent is one configured [[agent]]. Fields after Rise belong to the kinds
// named in their comments; the others leave them zero.
type Agent struct {
	Name     string // unique; [A-Za-z0-9_.-], at most 64 characters
	Kind     AgentKind
	Critical bool // its ERROR hands the node's groups over; else it only alerts
	Scope    AgentScope
	Interval time.Duration // a check starts every Interval
	Timeout  time.Duration // a check still running after this is an ERROR; ≤ Interval
	Fall     int           // consecutive failed checks before ERROR (keepalived's fall)
	Rise     int           // consecutive good checks before OK again (keepalived's rise)

	Process string // process: exact name in /proc/PID/comm (≤ 15 characters); with PIDFile, the name the PID must have
	PIDFile string // process: a file holding the PID

	URL           string // http: http:// or https:// URL
	Method        string // http: GET (default) or HEAD
	ExpectStatus  int    // http: default 200
	ExpectBody    string // http: a substring the body must contain (ldirectord's "receive"); GET only
	TLSSkipVerify bool   // http: accept any certificate (a VIP rarely has its own)

	Address string // tcp: "host:port"; gateway: an IPv4 or IPv6 address
	Count   int    // gateway: echo requests per check; OK when any is answered

	Interface string // link: the interface whose carrier is watched

	Path         string  // disk: a path on the file system (default "/")
	WarnPercent  float64 // cpu, memory, disk: WARNING at or above this; 0: off
	ErrorPercent float64 // cpu, memory, disk: ERROR at or above this; 0: off

	Command []string // exec, daemon: the program and its arguments, run without a shell
}

// agentDefaults are one kind's shipped settings.
type agentDefaults struct {
	interval, timeout time.Duration
	scope             AgentScope
	warn, err         float64 // thresholds when neither is written
}

// Every check wakes its agent process, which costs ~0.1 ms of CPU on a
// small VM (README, "Why these defaults"): a 1 s interval costs ~0.01 % of
// a core per agent, so agents whose failure should move a service fast
// check every second. Thresholds on slow quantities (CPU, memory, disk)
// look every 5 s, so a one-second CPU spike is not a warning. A Nagios
// plugin is a fork and exec (a few ms of CPU): every 10 s, with the
// monitoring-plugins' own default timeout of 10 s.
var kindDefaults = map[AgentKind]agentDefaults{
	KindProcess: {interval: time.Second, timeout: time.Second, scope: ScopeService},
	KindHTTP:    {interval: time.Second, timeout: time.Second, scope: ScopeService},
	KindTCP:     {interval: time.Second, timeout: time.Second, scope: ScopeService},
	KindGateway: {interval: time.Second, timeout: time.Second, scope: ScopeNode},
	// A link agent hears carrier changes from netlink at once; the interval
	// only re-reads the link in case an event was lost.
	KindLink:   {interval: time.Second, timeout: time.Second, scope: ScopeNode},
	KindCPU:    {interval: 5 * time.Second, timeout: time.Second, scope: ScopeNode, warn: 90},
	KindMemory: {interval: 5 * time.Second, timeout: time.Second, scope: ScopeNode, warn: 90, err: 98},
	KindDisk:   {interval: 5 * time.Second, timeout: time.Second, scope: ScopeNode, warn: 90, err: 98},
	KindStats:  {interval: time.Second, timeout: time.Second, scope: ScopeNode},
	KindExec:   {interval: 10 * time.Second, timeout: 10 * time.Second, scope: ScopeService},
	// A daemon agent writes its slot itself; the interval is how often it
	// is asked to, and there is no check to time out.
	KindDaemon: {interval: time.Second, scope: ScopeService},
}

// Per-kind defaults that are not timers.
const (
	DefaultFall         = 1
	DefaultRise         = 1
	DefaultMethod       = "GET"
	DefaultExpectStatus = 200
	DefaultPingCount    = 3 // two lost echoes in a row are not a lost gateway
	DefaultDiskPath     = "/"
)

// DefaultAgent returns an agent of kind with every default set: what an
// [[agent]] that writes only name and kind means, and what package agents
// uses for a program found in the agents directory (it sets Command).
func DefaultAgent(kind AgentKind, name string) Agent {
	d := kindDefaults[kind]
	a := Agent{Name: name, Kind: kind, Scope: d.scope, Interval: d.interval, Timeout: d.timeout, Fall: DefaultFall, Rise: DefaultRise,
		WarnPercent: d.warn, ErrorPercent: d.err}
	switch kind {
	case KindHTTP:
		a.Method, a.ExpectStatus = DefaultMethod, DefaultExpectStatus
	case KindGateway:
		a.Count = DefaultPingCount
	case KindDisk:
		a.Path = DefaultDiskPath
	}
	return a
}

// Service reports whether the agent watches the application (ScopeService)
// rather than the node.
func (a Agent) Service() bool { return a.Scope == ScopeService }

// kindKeys are the keys each kind takes besides the common ones.
var kindKeys = map[AgentKind][]string{
	KindProcess: {"process", "pid_file"},
	KindHTTP:    {"url", "method", "expect_status", "expect_body", "tls_skip_verify"},
	KindTCP:     {"address"},
	KindGateway: {"address", "count"},
	KindLink:    {"interface"},
	KindCPU:     {"warning_percent", "error_percent"},
	KindMemory:  {"warning_percent", "error_percent"},
	KindDisk:    {"path", "warning_percent", "error_percent"},
	KindStats:   {},
	KindExec:    {"command"},
	KindDaemon:  {"command"},
}
