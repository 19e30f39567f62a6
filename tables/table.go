package tables

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Kind is the first word of a table line.
type Kind string

// The entry kinds.
const (
	KindVIP     Kind = "vip"     // a virtual IPv4 or IPv6 address, announced by GARP or NA (vip.go)
	KindCmd     Kind = "cmd"     // a plain start/stop/status command (cmd.go)
	KindService Kind = "service" // a systemd unit or an LSB init script (service.go)
	KindOCF     Kind = "ocf"     // an OCF resource agent (ocf.go)
	KindTee     Kind = "tee"     // the seed-003 UDP relay, run as process had-tee (tee.go)
)

// Op is what a step does to an entry; it is the "op" field of the log.
type Op string

// The operations of a step.
const (
	OpStart      Op = "start"
	OpStop       Op = "stop"
	OpReannounce Op = "reannounce"
)

// Entry is one line of a table: a resource the node starts and stops.
// Start on a running resource and Stop on a stopped one must succeed.
type Entry interface {
	Kind() Kind
	Name() string // unique within the table
	Line() int    // where the entry is in its file
	// Timeout bounds one Start or one Stop attempt.
	Timeout() time.Duration
	// String formats the entry as a table line that parses back to it.
	String() string
	Start(ctx context.Context, env *Env) error
	Stop(ctx context.Context, env *Env) error
}

// Addrs adds and removes interface addresses (netlink in production,
// NetlinkAddrs).
type Addrs interface {
	// Add adds prefix to dev with label; adding a present address succeeds.
	// An IPv6 address is added without duplicate address detection
	// (IFA_F_NODAD), so that it is usable at once instead of "tentative"
	// for a second or more, and label is empty (IPv6 addresses have none).
	Add(dev string, prefix netip.Prefix, label string) error
	// Del removes prefix from dev; removing a missing address succeeds.
	Del(dev string, prefix netip.Prefix) error
	// Has reports whether dev holds prefix (address and prefix length).
	Has(dev string, prefix netip.Prefix) (bool, error)
}

// Announcer sends one announcement burst for ip out of dev (RawAnnouncer in
// production): for IPv4 a gratuitous ARP in the request and the reply form,
// once each; for IPv6 one unsolicited neighbour advertisement with the
// Override flag to all nodes (ff02::1).
type Announcer interface {
	Announce(dev string, ip netip.Addr) error
}

// AddrWatcher tells a vip entry that its address may have gone behind
// had's back (NetlinkWatcher in production).
type AddrWatcher interface {
	// Watch calls changed whenever prefix may have left dev: with nil when
	// the kernel reports that the address was deleted, with the reason
	// when the watcher may have missed events (then it calls every watch).
	// Calls for other addresses or devices may happen too: the caller
	// checks. changed runs on the watcher's goroutine and must not block.
	// Once cancel has returned, changed is not called again.
	Watch(dev string, prefix netip.Prefix, changed func(lost error)) (cancel func(), err error)
}

// Runner runs an entry's command (ShellRunner in production). A command
// that exits non-zero returns an *ExitError; ctx's end kills the command.
type Runner interface {
	Run(ctx context.Context, c Command) error
}

// Command is one command of an entry.
type Command struct {
	Name  string   // the entry's name, for messages
	Op    string   // "start", "stop", "status" or (ocf) "monitor"
	Shell string   // run with /bin/sh -c
	Env   []string // KEY=value added to had's environment (ocf's OCF_*)
}

// ExitError is a command that ran and exited non-zero (or was killed by a
// signal it did not get from us: Code is then -1).
type ExitError struct {
	Code   int
	Output string // the last lines of its output, newline-separated
}

func (e *ExitError) Error() string {
	if e.Output == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return fmt.Sprintf("exit status %d: %s", e.Code, oneLine(e.Output))
}

// oneLine keeps multi-line output on the one log line it belongs to.
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " | ") }

// Deps are the OS effects entries use. A table needs only those its kinds
// use: Addrs and Announcer for vip (Watcher is optional: without it a
// deleted address is put back only by garp_refresh, if set), Runner for
// cmd, service and ocf; tee starts its process itself.
type Deps struct {
	Addrs     Addrs
	Announcer Announcer
	Runner    Runner
	Watcher   AddrWatcher
}

// Env is what an entry's Start and Stop get besides their context.
type Env struct {
	Deps
	Log zerolog.Logger // carries the table field
}

// Policy is how the executor treats slow and failing steps.
type Policy struct {
	// StopRetries is how many more times a failed stop is tried before it
	// is reported, so that the caller fails safe.
	StopRetries int
	// RetryDelay separates the tries of a stop.
	RetryDelay time.Duration
	// Abandon is how long, after a step's timeout, the executor waits for
	// the step to return (a timed-out command is being killed) before it
	// gives up on it and reports it as still running.
	Abandon time.Duration
}

// DefaultPolicy is the shipped policy: a stop is tried three times over
// about half a second (a daemon that is still shutting down usually
// succeeds on the second try), then the caller fails safe.
func DefaultPolicy() Policy {
	return Policy{
		StopRetries: 2,
		RetryDelay:  200 * time.Millisecond,
		Abandon:     5 * time.Second, // longer than ShellRunner's SIGTERM→SIGKILL grace
	}
}

// Table is a parsed TAKEOVER or RECOVER table. Its methods serialise: one
// Start, Stop or Reannounce runs at a time, so a caller that must give up
// on a slow Start cancels its context before calling Stop.
type Table struct {
	File    string // for messages
	Name    string // the "table" field of the logs: the file name without .table
	Entries []Entry
	Policy  Policy

	mu sync.Mutex
}

// String formats the table in canonical form: one entry per line.
func (t *Table) String() string {
	var b strings.Builder
	for _, e := range t.Entries {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// VIP is a virtual address of a table.
type VIP struct {
	Dev    string
	Prefix netip.Prefix // the address with its prefix length, not masked
	Label  string
	Line   int
}

// Monitorer is an entry that can tell whether its resource runs (ocf), for
// agents to use.
type Monitorer interface {
	Monitor(ctx context.Context) (running bool, err error)
}

// vipHolder is an entry that holds a virtual address.
type vipHolder interface{ VIP() VIP }

// VIPs returns the table's virtual addresses in table order, so that the
// caller can remove, at start-up, the ones it holds but does not own.
func (t *Table) VIPs() []VIP {
	var vs []VIP
	for _, e := range t.Entries {
		if v, ok := e.(vipHolder); ok {
			vs = append(vs, v.VIP())
		}
	}
	return vs
}

// StepError is a step that failed: the entry, its line and the operation.
type StepError struct {
	File  string
	Table string
	Entry string
	Kind  Kind
	Line  int
	Op    Op
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s:%d: %s %s: %s: %v", e.File, e.Line, e.Kind, e.Entry, e.Op, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Sentinel errors.
var (
	// ErrTimeout is a step that did not finish within its entry's timeout.
	ErrTimeout = errors.New("tables: step timed out")
	// ErrMissingDep is a table run without a dependency its entries need.
	ErrMissingDep = errors.New("tables: missing dependency")
	// errNotHeld is a reannounce of an address the node does not hold.
	errNotHeld = errors.New("tables: address not held")
)
