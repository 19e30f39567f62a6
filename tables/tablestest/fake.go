// Package tablestest provides a recording fake of the OS effects the tables
// executor uses (tables.Addrs, tables.Announcer, tables.Runner and
// tables.AddrWatcher), so that executor tests compare a golden log of
// operations instead of touching interfaces and processes.
//
// Every effect is one line, in the words of ip(8) where there is one:
//
//	addr add 10.213.0.100/32 dev eth0 label eth0:ha
//	addr add 2001:db8::100/128 dev eth0
//	addr del 10.213.0.100/32 dev eth0
//	garp 10.213.0.100 dev eth0
//	na 2001:db8::100 dev eth0
//	watch 10.213.0.100/32 dev eth0
//	unwatch 10.213.0.100/32 dev eth0
//	run web start
//
// An operation made to fail is logged with " [fail]" appended, one made to
// hang with " [hang]", a command made to exit with code N with " [exit N]". Has is a query, not an effect, and is not logged;
// its line for Fail and Hang is "addr has 10.213.0.100/32 dev eth0".
// Commands returns the commands Run was given, with their shell text and
// environment, for tests of what a kind runs.
package tablestest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/hadcluster/had/tables"
)

// ErrInjected is the error of an operation made to fail.
var ErrInjected = errors.New("tablestest: injected failure")

// Fake holds the state of one node's addresses and commands.
type Fake struct {
	mu      sync.Mutex
	log     []string
	addrs   map[string]map[netip.Prefix]string // dev → prefix → label
	running map[string]bool                    // cmd entry name → running
	stuck   map[string]bool                    // cmd entries whose stop leaves them running
	rules   map[string]*rule
	release chan struct{}
	cmds    []tables.Command
	watches map[*watch]struct{}
}

type watch struct {
	dev     string
	prefix  netip.Prefix
	changed func(error)
}

type rule struct {
	times int // how many more operations it applies to; < 0: all
	hang  bool
	exit  int // > 0: the command exits with this code (Exit)
}

var (
	_ tables.Addrs       = (*Fake)(nil)
	_ tables.Announcer   = (*Fake)(nil)
	_ tables.Runner      = (*Fake)(nil)
	_ tables.AddrWatcher = (*Fake)(nil)
)

// New returns a fake with no addresses and nothing running.
func New() *Fake {
	return &Fake{
		addrs:   map[string]map[netip.Prefix]string{},
		running: map[string]bool{},
		stuck:   map[string]bool{},
		rules:   map[string]*rule{},
		release: make(chan struct{}),
		watches: map[*watch]struct{}{},
	}
}

// Deps returns the fake as every dependency.
func (f *Fake) Deps() tables.Deps {
	return tables.Deps{Addrs: f, Announcer: f, Runner: f, Watcher: f}
}

// Fail makes the next times operations whose line is op fail (all of them
// when times < 0), without changing state.
func (f *Fake) Fail(op string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[op] = &rule{times: times}
}

// Exit makes the next times commands whose line is op ("run NAME OP") exit
// with code (an *tables.ExitError), without changing state: an agent's
// "not installed", a status that cannot tell.
func (f *Fake) Exit(op string, code, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[op] = &rule{times: times, exit: code}
}

// Hang makes the next times operations whose line is op block until
// Release, after which they go ahead and succeed (a slow call rather than a
// dead one). A Run also returns, with its context's error, when its context
// ends; the others take no context, like netlink calls.
func (f *Fake) Hang(op string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[op] = &rule{times: times, hang: true}
}

// Release unblocks every operation hung now or later.
func (f *Fake) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

// Log returns the lines logged so far.
func (f *Fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// Take returns the lines logged so far and forgets them.
func (f *Fake) Take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log
	f.log = nil
	return l
}

// SetAddr puts an address on a device, unlogged: state from before the test.
func (f *Fake) SetAddr(dev string, prefix netip.Prefix, label string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLocked(dev, prefix, label)
}

// RemoveAddr removes an address, unlogged and with no event for the
// watches: a deletion whose netlink event was lost.
func (f *Fake) RemoveAddr(dev string, prefix netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.addrs[dev], prefix)
}

// HasAddr reports whether dev holds prefix.
func (f *Fake) HasAddr(dev string, prefix netip.Prefix) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.addrs[dev][prefix]
	return ok
}

// Label returns the label of prefix on dev ("" when absent).
func (f *Fake) Label(dev string, prefix netip.Prefix) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addrs[dev][prefix]
}

// SetRunning sets whether a cmd entry runs, unlogged.
func (f *Fake) SetRunning(name string, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[name] = running
}

// Running reports whether a cmd entry runs.
func (f *Fake) Running(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[name]
}

// SetStuck makes a cmd entry's stop succeed but leave it running.
func (f *Fake) SetStuck(name string, stuck bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stuck[name] = stuck
}

// op logs line (when logged) and applies its rule: it returns nil to go
// ahead, or the error to return, after hanging if told to.
func (f *Fake) op(ctx context.Context, line string, logged bool) error {
	f.mu.Lock()
	r := f.rules[line]
	if r != nil && r.times == 0 {
		r = nil
	}
	if r != nil && r.times > 0 {
		r.times--
	}
	suffix := ""
	switch {
	case r != nil && r.hang:
		suffix = " [hang]"
	case r != nil && r.exit > 0:
		suffix = fmt.Sprintf(" [exit %d]", r.exit)
	case r != nil:
		suffix = " [fail]"
	}
	if logged {
		f.log = append(f.log, line+suffix)
	}
	release := f.release
	f.mu.Unlock()
	if r == nil {
		return nil
	}
	if r.exit > 0 {
		return &tables.ExitError{Code: r.exit}
	}
	if !r.hang {
		return fmt.Errorf("%s: %w", line, ErrInjected)
	}
	select {
	case <-ctx.Done(): // never, for context.Background
		return ctx.Err()
	case <-release:
		return nil
	}
}

func (f *Fake) addLocked(dev string, prefix netip.Prefix, label string) {
	if f.addrs[dev] == nil {
		f.addrs[dev] = map[netip.Prefix]string{}
	}
	f.addrs[dev][prefix] = label
}

// Add adds an address; adding a present one succeeds (AddrReplace).
func (f *Fake) Add(dev string, prefix netip.Prefix, label string) error {
	line := fmt.Sprintf("addr add %s dev %s", prefix, dev)
	if label != "" {
		line += " label " + label
	}
	if err := f.op(context.Background(), line, true); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLocked(dev, prefix, label)
	return nil
}

// Del removes an address; removing a missing one succeeds.
func (f *Fake) Del(dev string, prefix netip.Prefix) error {
	if err := f.op(context.Background(), fmt.Sprintf("addr del %s dev %s", prefix, dev), true); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.addrs[dev], prefix)
	return nil
}

// Has reports whether dev holds prefix.
func (f *Fake) Has(dev string, prefix netip.Prefix) (bool, error) {
	if err := f.op(context.Background(), fmt.Sprintf("addr has %s dev %s", prefix, dev), false); err != nil {
		return false, err
	}
	return f.HasAddr(dev, prefix), nil
}

// Announce logs one announcement: "garp" for IPv4, "na" for IPv6.
func (f *Fake) Announce(dev string, ip netip.Addr) error {
	what := "garp"
	if ip.Is6() {
		what = "na"
	}
	return f.op(context.Background(), fmt.Sprintf("%s %s dev %s", what, ip, dev), true)
}

// Watch registers changed for DeleteBehind and Resync.
func (f *Fake) Watch(dev string, prefix netip.Prefix, changed func(lost error)) (func(), error) {
	if err := f.op(context.Background(), fmt.Sprintf("watch %s dev %s", prefix, dev), true); err != nil {
		return nil, err
	}
	w := &watch{dev: dev, prefix: prefix, changed: changed}
	f.mu.Lock()
	f.watches[w] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.log = append(f.log, fmt.Sprintf("unwatch %s dev %s", prefix, dev))
			delete(f.watches, w)
		})
	}, nil
}

// DeleteBehind removes an address as something other than had would (an
// operator, NetworkManager), unlogged, and tells the watches of that
// address, as the kernel's netlink event does.
func (f *Fake) DeleteBehind(dev string, prefix netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.addrs[dev], prefix)
	for w := range f.watches {
		if w.dev == dev && w.prefix == prefix {
			w.changed(nil)
		}
	}
}

// ErrLost is the reason Resync gives the watches.
var ErrLost = errors.New("tablestest: events lost")

// Resync tells every watch that events may have been lost, as a watcher
// that had to subscribe again does.
func (f *Fake) Resync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.watches {
		w.changed(ErrLost)
	}
}

// Watching returns how many watches are active.
func (f *Fake) Watching() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watches)
}

// Commands returns the commands Run was given so far and forgets them.
func (f *Fake) Commands() []tables.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cmds
	f.cmds = nil
	return c
}

// Run plays a command by its Op: "start" makes the entry run, "stop" makes
// it stop (unless stuck), "status" exits 0 when it runs and 3 (LSB "not
// running", systemctl is-active "inactive") when not, "monitor" exits 0
// when it runs and 7 (OCF_NOT_RUNNING) when not.
func (f *Fake) Run(ctx context.Context, c tables.Command) error {
	f.mu.Lock()
	f.cmds = append(f.cmds, c)
	f.mu.Unlock()
	if err := f.op(ctx, fmt.Sprintf("run %s %s", c.Name, c.Op), true); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c.Op {
	case "monitor":
		if !f.running[c.Name] {
			return &tables.ExitError{Code: 7}
		}
	case "start":
		f.running[c.Name] = true
	case "stop":
		if !f.stuck[c.Name] {
			f.running[c.Name] = false
		}
	case "status":
		if !f.running[c.Name] {
			return &tables.ExitError{Code: 3, Output: c.Name + " is not running"}
		}
	}
	return nil
}
