package tables

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// VIP entries: a virtual IPv4 or IPv6 address on one interface.
//
//	vip 10.213.0.100/32   dev=eth0 [label=eth0:ha] [garp_count=3] [garp_interval=500ms] [garp_refresh=0] [name=…] [timeout=10s]
//	vip 2001:db8::100/128 dev=eth0                 [garp_count=3] [garp_interval=500ms] [garp_refresh=0] [name=…] [timeout=10s]
//
// Start adds the address (idempotent; IPv6 without duplicate address
// detection) and sends the first announcement burst at once: gratuitous
// ARP in both forms for IPv4, an unsolicited neighbour advertisement for
// IPv6. The other garp_count-1 bursts follow garp_interval apart in the
// background, so that the table is not slowed down. Stop cancels those
// repeats, waits until none can still be sent (an announcement after the
// release would pull the peer's traffic back), then removes the address.
//
// While the entry is held, a guard (vipguard.go) puts the address back if
// something else deletes it, and sends a burst every garp_refresh if set.

// The announcement defaults: three bursts at 0, 0.5 and 1 s cover a lost
// frame and a neighbour whose entry is in its 1 s locktime (libraries.md §4).
const (
	DefaultGARPCount    = 3
	DefaultGARPInterval = 500 * time.Millisecond
)

// DefaultLabel is the address label used when a line gives none: the device
// name with ":ha", cut to the kernel's 15 characters, so that `ip addr` and
// ifconfig show which addresses are had's.
func DefaultLabel(dev string) string {
	l := dev + ":ha"
	if len(l) > maxIfName {
		l = strings.TrimSuffix(l[:maxIfName], ":")
	}
	return l
}

// maxIfName is IFNAMSIZ-1: the longest interface name and address label.
const maxIfName = 15

type vipEntry struct {
	base
	dev          string
	prefix       netip.Prefix
	label        string // "" for IPv6
	garpCount    int
	garpInterval time.Duration
	garpRefresh  time.Duration // 0: no periodic announcements

	// ops serialises Start, Stop, Reannounce and the guard's repairs. It is
	// a channel so that a guard waiting for it can give up when stopped.
	ops semaphore

	mu      sync.Mutex
	cancel  context.CancelFunc // stops the repeated announcements
	repeats chan struct{}      // closed when they have stopped
	guard   *vipGuard          // while held, with a Watcher or garp_refresh

	lim reAddLimiter // the guard's recent re-adds; under ops
}

// semaphore is a lock that can be waited for within a context.
type semaphore chan struct{}

func (s semaphore) lock(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s semaphore) unlock() { <-s }

func parseVIP(r *rawEntry) Entry {
	v := &vipEntry{ops: make(semaphore, 1)}
	switch len(r.args) {
	case 0:
		r.errorf("address", "missing: want an address with its prefix length, e.g. 10.213.0.100/32 or 2001:db8::100/128")
	case 1:
		v.prefix = parseVIPPrefix(r, r.args[0])
	default:
		r.errorf("address", "want one address, got %d arguments: %q", len(r.args), r.args)
	}
	defName := ""
	if v.prefix.IsValid() {
		defName = v.prefix.Addr().String()
	}
	v.base = r.base(defName)
	v.named = v.named && v.name != defName // String leaves the default out
	v.dev = r.str("dev", true)
	if v.dev != "" && !validIfName(v.dev) {
		r.errorf("dev", "%q is not an interface name (1–15 characters, no '/', ':' or blanks)", v.dev)
	}
	is6 := v.prefix.IsValid() && v.prefix.Addr().Is6()
	if !is6 {
		v.label = DefaultLabel(v.dev)
	}
	if l, ok := r.take("label"); ok {
		v.label = l
		switch {
		case is6:
			r.errorf("label", "IPv6 addresses have no label (labels are an IPv4 feature of the kernel)")
		case len(l) > maxIfName:
			r.errorf("label", "%q is longer than %d characters", l, maxIfName)
		case strings.ContainsAny(l, " \t\r\n\v\f/"):
			r.errorf("label", "%q contains a blank or '/'", l)
		case v.dev != "" && l != v.dev && !strings.HasPrefix(l, v.dev+":"):
			r.errorf("label", "%q must be the device name or start with %q (ip(8) requires it)", l, v.dev+":")
		}
	}
	v.garpCount = r.integer("garp_count", DefaultGARPCount, 0, 100)
	v.garpInterval = r.duration("garp_interval", DefaultGARPInterval, 10*time.Millisecond, time.Minute)
	v.garpRefresh = r.duration("garp_refresh", 0, 0, 24*time.Hour)
	if v.garpRefresh != 0 && v.garpRefresh < time.Second {
		r.errorf("garp_refresh", "%v is out of range: 0 (off) or [1s, 24h0m0s]", v.garpRefresh)
	}
	if v.base.name == "" {
		v.base.name = "vip" // only when the address is bad, which is reported
	}
	return v
}

// parseVIPPrefix checks the address of a vip line.
func parseVIPPrefix(r *rawEntry, s string) netip.Prefix {
	if !strings.Contains(s, "/") {
		adv := "/32"
		if strings.Contains(s, ":") {
			adv = "/128"
		}
		r.errorf("address", "%q has no prefix length (e.g. %s%s; %s is advised)", s, s, adv, adv)
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		r.errorf("address", "%q is not an address with a prefix length, e.g. 10.213.0.100/32 or 2001:db8::100/128", s)
		return netip.Prefix{}
	}
	a := p.Addr()
	switch {
	case a.Is4In6():
		r.errorf("address", "%s: write the IPv4 address as %s", s, a.Unmap())
	case a.Zone() != "":
		r.errorf("address", "%s: a zone is not allowed", s)
	case p.Bits() == 0:
		r.errorf("address", "%s: prefix length 0", s)
	case a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		r.errorf("address", "%s is not a unicast address", s)
	case a.Is6() && a.IsLinkLocalUnicast():
		r.errorf("address", "%s is link-local (fe80::/10): a virtual address must be routable", s)
	case a.Is6() && p.Bits() < 127 && a == p.Masked().Addr():
		r.errorf("address", "%s is the subnet-router anycast address of its subnet", s)
	case a.Is4() && p.Bits() < 31 && a == p.Masked().Addr():
		r.errorf("address", "%s is the network address of its subnet", s)
	case a.Is4() && p.Bits() < 31 && a == lastAddr(p):
		r.errorf("address", "%s is the broadcast address of its subnet", s)
	default:
		return p
	}
	return netip.Prefix{}
}

// lastAddr returns the highest address of an IPv4 prefix's subnet.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// validIfName mirrors the kernel's dev_valid_name.
func validIfName(s string) bool {
	return s != "" && len(s) <= maxIfName && s != "." && s != ".." && !strings.ContainsAny(s, "/: \t\r\n\v\f")
}

func (v *vipEntry) Kind() Kind { return KindVIP }

// VIP implements vipHolder.
func (v *vipEntry) VIP() VIP {
	return VIP{Dev: v.dev, Prefix: v.prefix, Label: v.label, Line: v.line}
}

func (v *vipEntry) String() string {
	w := []string{string(KindVIP), v.prefix.String(), "dev=" + quote(v.dev)}
	if v.prefix.Addr().Is4() && v.label != DefaultLabel(v.dev) {
		w = append(w, "label="+quote(v.label))
	}
	if v.garpCount != DefaultGARPCount {
		w = append(w, fmt.Sprintf("garp_count=%d", v.garpCount))
	}
	if v.garpInterval != DefaultGARPInterval {
		w = append(w, "garp_interval="+v.garpInterval.String())
	}
	if v.garpRefresh != 0 {
		w = append(w, "garp_refresh="+v.garpRefresh.String())
	}
	return strings.Join(append(w, v.words()...), " ")
}

func (v *vipEntry) needsAnnouncer() bool { return v.garpCount > 0 || v.garpRefresh > 0 }

func (v *vipEntry) Start(ctx context.Context, env *Env) error {
	if env.Addrs == nil || (env.Announcer == nil && v.needsAnnouncer()) {
		return fmt.Errorf("%w: vip needs Addrs and Announcer", ErrMissingDep)
	}
	// A Start of a held entry starts over: no guard may run while this
	// one takes ops, since a new guard is made below.
	if err := v.stopGuard(ctx); err != nil {
		return err
	}
	if err := v.ops.lock(ctx); err != nil {
		return fmt.Errorf("wait for the entry's other operation: %w", err)
	}
	defer v.ops.unlock()
	if err := v.stopRepeats(ctx); err != nil {
		return err
	}
	// Watch before the add, so that a deletion right after it is not
	// missed; the guard cannot act before ops is released.
	v.startGuard(env)
	if err := env.Addrs.Add(v.dev, v.prefix, v.label); err != nil {
		v.stopGuard(context.Background()) // it cannot be blocked: we hold ops
		return fmt.Errorf("add %s to %s: %w", v.prefix, v.dev, err)
	}
	if err := ctx.Err(); err != nil {
		// The executor has given up on this step (netlink calls take no
		// context): do not leave behind an address it reports as not added.
		v.stopGuard(context.Background())
		env.Addrs.Del(v.dev, v.prefix)
		return fmt.Errorf("add %s to %s: %w", v.prefix, v.dev, err)
	}
	v.announce(ctx, env)
	return nil
}

func (v *vipEntry) Stop(ctx context.Context, env *Env) error {
	if env.Addrs == nil {
		return fmt.Errorf("%w: vip needs Addrs", ErrMissingDep)
	}
	// The guard goes first: had's own removal is not to be repaired.
	if err := v.stopGuard(ctx); err != nil {
		return err
	}
	if err := v.ops.lock(ctx); err != nil {
		return fmt.Errorf("wait for the entry's other operation: %w", err)
	}
	defer v.ops.unlock()
	if err := v.stopRepeats(ctx); err != nil {
		return err
	}
	if err := env.Addrs.Del(v.dev, v.prefix); err != nil {
		return fmt.Errorf("delete %s from %s: %w", v.prefix, v.dev, err)
	}
	return nil
}

// Reannounce announces the address again, from the first burst, if the
// node holds it.
func (v *vipEntry) Reannounce(ctx context.Context, env *Env) error {
	if env.Addrs == nil || env.Announcer == nil {
		return fmt.Errorf("%w: vip needs Addrs and Announcer", ErrMissingDep)
	}
	if err := v.ops.lock(ctx); err != nil {
		return fmt.Errorf("wait for the entry's other operation: %w", err)
	}
	defer v.ops.unlock()
	held, err := env.Addrs.Has(v.dev, v.prefix)
	if err != nil {
		return fmt.Errorf("look up %s on %s: %w", v.prefix, v.dev, err)
	}
	if !held {
		return errNotHeld
	}
	if err := v.stopRepeats(ctx); err != nil {
		return err
	}
	v.announce(ctx, env)
	return nil
}

// announceWhat names the announcement in log messages.
func (v *vipEntry) announceWhat() string {
	if v.prefix.Addr().Is6() {
		return "unsolicited neighbour advertisement"
	}
	return "garp"
}

// announce sends the first burst now and starts the repeats, which outlive
// ctx (the step's) and end by themselves or at stopRepeats. A failed
// burst is logged, not returned: the address is what serves clients, the
// repeats may still get through, and failing the takeover for want of an
// announcement would leave no node serving at all. The caller holds ops.
func (v *vipEntry) announce(ctx context.Context, env *Env) {
	if v.garpCount == 0 {
		return
	}
	ip := v.prefix.Addr()
	log := env.Log.With().Str("entry", v.name).Str("dev", v.dev).Str("vip", ip.String()).Logger()
	what := v.announceWhat()
	if err := env.Announcer.Announce(v.dev, ip); err != nil {
		log.Warn().Err(err).Int("burst", 1).Msg(what + " failed")
	}
	if v.garpCount == 1 {
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	v.mu.Lock()
	v.cancel, v.repeats = cancel, done
	v.mu.Unlock()
	go func() {
		defer close(done)
		tick := time.NewTicker(v.garpInterval)
		defer tick.Stop()
		for n := 2; n <= v.garpCount; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if ctx.Err() != nil {
				return // Stop may have won the race with the tick
			}
			if err := env.Announcer.Announce(v.dev, ip); err != nil {
				log.Warn().Err(err).Int("burst", n).Msg(what + " failed")
			}
		}
	}()
}

// stopRepeats cancels the repeated announcements and waits until they have
// stopped, within ctx.
func (v *vipEntry) stopRepeats(ctx context.Context) error {
	v.mu.Lock()
	cancel, done := v.cancel, v.repeats
	v.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		v.mu.Lock()
		if v.repeats == done { // forget them only once they are over
			v.cancel, v.repeats = nil, nil
		}
		v.mu.Unlock()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for announcements to stop: %w", ctx.Err())
	}
}
