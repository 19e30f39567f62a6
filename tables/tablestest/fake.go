// Package tablestest provides a recording fake of the OS effects the tables
// executor uses (tables.Addrs, tables.Announcer and tables.Runner), so that
// executor tests compare a golden log of operations instead of touching
// interfaces and processes.
//
// Every effect is one line, in the words of ip(8) where there is one:
//
//	addr add 10.213.0.100/32 dev eth0 label eth0:ha
//	addr del 10.213.0.100/32 dev eth0
//	garp 10.213.0.100 dev eth0
//	run web start
//
// An operation made to fail is logged with " [fail]" appended, one made to
// hang with " [hang]". Has is a query, not an effect, and is not logged;
// its line for Fail and Hang is "addr has 10.213.0.100/32 dev eth0".
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
}

type rule struct {
	times int // how many more operations it applies to; < 0: all
	hang  bool
}

var (
	_ tables.Addrs     = (*Fake)(nil)
	_ tables.Announcer = (*Fake)(nil)
	_ tables.Runner    = (*Fake)(nil)
)

// New returns a fake with no addresses and nothing running.
func New() *Fake {
	return &Fake{
		addrs:   map[string]map[netip.Prefix]string{},
		running: map[string]bool{},
		stuck:   map[string]bool{},
		rules:   map[string]*rule{},
		release: make(chan struct{}),
	}
}

// Deps returns the fake as every dependency.
func (f *Fake) Deps() tables.Deps { return tables.Deps{Addrs: f, Announcer: f, Runner: f} }

// Fail makes the next times operations whose line is op fail (all of them
// when times < 0), without changing state.
func (f *Fake) Fail(op string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[op] = &rule{times: times}
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
	if err := f.op(context.Background(), fmt.Sprintf("addr add %s dev %s label %s", prefix, dev, label), true); err != nil {
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

// Announce logs one announcement.
func (f *Fake) Announce(dev string, ip netip.Addr) error {
	return f.op(context.Background(), fmt.Sprintf("garp %s dev %s", ip, dev), true)
}

// Run plays a command by its Op: "start" makes the entry run, "stop" makes
// it stop (unless stuck), "status" exits 0 when it runs and 3 (LSB "not
// running") when not.
func (f *Fake) Run(ctx context.Context, c tables.Command) error {
	if err := f.op(ctx, fmt.Sprintf("run %s %s", c.Name, c.Op), true); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c.Op {
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
