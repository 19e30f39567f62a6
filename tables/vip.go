package tables

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// VIP entries: a virtual IPv4 address on one interface.
//
//	vip 10.213.0.100/32 dev=eth0 [label=eth0:ha] [garp_count=3] [garp_interval=500ms] [name=…] [timeout=10s]
//
// Start adds the address (idempotent) and sends the first gratuitous-ARP
// burst at once; the other garp_count-1 bursts follow garp_interval apart in
// the background, so that the table is not slowed down. Stop cancels those
// repeats, waits until none can still be sent (an announcement after the
// release would pull the peer's traffic back), then removes the address.

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
	label        string
	garpCount    int
	garpInterval time.Duration

	mu      sync.Mutex
	cancel  context.CancelFunc // stops the repeated announcements
	repeats chan struct{}      // closed when they have stopped
}

func parseVIP(r *rawEntry) Entry {
	v := &vipEntry{}
	switch len(r.args) {
	case 0:
		r.errorf("address", "missing: want an IPv4 address with its prefix length, e.g. 10.213.0.100/32")
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
	v.label = DefaultLabel(v.dev)
	if l, ok := r.take("label"); ok {
		v.label = l
		switch {
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
	if v.base.name == "" {
		v.base.name = "vip" // only when the address is bad, which is reported
	}
	return v
}

// parseVIPPrefix checks the address of a vip line.
func parseVIPPrefix(r *rawEntry, s string) netip.Prefix {
	if !strings.Contains(s, "/") {
		r.errorf("address", "%q has no prefix length (e.g. %s/32; /32 is advised)", s, s)
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		r.errorf("address", "%q is not an address with a prefix length, e.g. 10.213.0.100/32", s)
		return netip.Prefix{}
	}
	a := p.Addr()
	switch {
	case a.Is6() && !a.Is4In6():
		r.errorf("address", "%s: IPv6 virtual addresses are not supported yet", s)
	case a.Is4In6():
		r.errorf("address", "%s: write the IPv4 address as %s", s, a.Unmap())
	case a.Zone() != "":
		r.errorf("address", "%s: a zone is not allowed", s)
	case p.Bits() == 0:
		r.errorf("address", "%s: prefix length 0", s)
	case a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		r.errorf("address", "%s is not a unicast address", s)
	case p.Bits() < 31 && a == p.Masked().Addr():
		r.errorf("address", "%s is the network address of its subnet", s)
	case p.Bits() < 31 && a == lastAddr(p):
		r.errorf("address", "%s is the broadcast address of its subnet", s)
	default:
		return p
	}
	return netip.Prefix{}
}

// lastAddr returns the highest address of p's subnet.
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
	if v.label != DefaultLabel(v.dev) {
		w = append(w, "label="+quote(v.label))
	}
	if v.garpCount != DefaultGARPCount {
		w = append(w, fmt.Sprintf("garp_count=%d", v.garpCount))
	}
	if v.garpInterval != DefaultGARPInterval {
		w = append(w, "garp_interval="+v.garpInterval.String())
	}
	return strings.Join(append(w, v.words()...), " ")
}

func (v *vipEntry) Start(ctx context.Context, env *Env) error {
	if env.Addrs == nil || (env.Announcer == nil && v.garpCount > 0) {
		return fmt.Errorf("%w: vip needs Addrs and Announcer", ErrMissingDep)
	}
	if err := v.stopRepeats(ctx); err != nil {
		return err
	}
	if err := env.Addrs.Add(v.dev, v.prefix, v.label); err != nil {
		return fmt.Errorf("add %s to %s: %w", v.prefix, v.dev, err)
	}
	if err := ctx.Err(); err != nil {
		// The executor has given up on this step (netlink calls take no
		// context): do not leave behind an address it reports as not added.
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

// announce sends the first burst now and starts the repeats, which outlive
// ctx (the step's) and end by themselves or at stopRepeats. A failed
// burst is logged, not returned: the address is what serves clients, the
// repeats may still get through, and failing the takeover for want of an
// announcement would leave no node serving at all.
func (v *vipEntry) announce(ctx context.Context, env *Env) {
	if v.garpCount == 0 {
		return
	}
	ip := v.prefix.Addr()
	log := env.Log.With().Str("entry", v.name).Str("dev", v.dev).Str("vip", ip.String()).Logger()
	if err := env.Announcer.Announce(v.dev, ip); err != nil {
		log.Warn().Err(err).Int("burst", 1).Msg("garp failed")
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
				log.Warn().Err(err).Int("burst", n).Msg("garp failed")
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
