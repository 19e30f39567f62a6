package config

import (
	"fmt"
	"net/netip"
)

// MaxPaths is the most heartbeat paths (UDP and serial together) one node
// may have; the shared table has a fixed number of per-path slots.
const MaxPaths = 8

// validate checks the rules that tie several values together. A rule whose
// inputs were already rejected by read is skipped.
func (r *reader) validate(cfg *Config) {
	r.validateNames(cfg)
	r.validateTables(cfg)
	r.validateTimers(&cfg.Timers)
	r.validatePaths(cfg)
	r.validateFence(&cfg.Fence)
	r.validateAdmin(cfg)
	r.validateSupervise(&cfg.Supervise)
	r.validateAgents(cfg)
}

// ok reports whether none of paths holds a rejected value.
func (r *reader) ok(paths ...string) bool {
	for _, p := range paths {
		if r.bad[p] {
			return false
		}
	}
	return true
}

// blame picks the key to point at when two values disagree: the first if
// it is written in the file, else the second (one of them is, or the
// defaults would be wrong).
func (r *reader) blame(first, second string) string {
	if !r.c.lines.has(first) && r.c.lines.has(second) {
		return second
	}
	return first
}

func (r *reader) validateNames(cfg *Config) {
	if cfg.NodeName != "" && cfg.NodeName == cfg.PeerName && r.ok("node_name", "peer_name") {
		r.c.add(r.blame("peer_name", "node_name"), "node_name and peer_name are both %q: logs could not tell the nodes apart", cfg.NodeName)
	}
}

func (r *reader) validateTables(cfg *Config) {
	if cfg.NodeID == 0 || cfg.Mode == "" || (cfg.Mode == Asymmetric && cfg.Primary == 0) {
		return // which node owns what is unknown; read has said why
	}
	why := func(node uint8) string {
		if cfg.Mode == Symmetric {
			return "in symmetric mode both nodes own a group"
		}
		return fmt.Sprintf("primary = %d owns the group and this is node %d", cfg.Primary, node)
	}
	switch {
	case cfg.OwnGroup() && cfg.RecoverTable == "" && r.ok("recover_table"):
		r.c.add("recover_table", "required: this node owns a group (%s)", why(cfg.NodeID))
	case !cfg.OwnGroup() && cfg.RecoverTable != "":
		r.c.add("recover_table", "this node owns no group (primary = %d), so the table would never run: remove it", cfg.Primary)
	}
	switch {
	case cfg.PeerGroup() && cfg.TakeoverTable == "" && r.ok("takeover_table"):
		r.c.add("takeover_table", "required: the peer owns a group (%s)", why(cfg.NodeID))
	case !cfg.PeerGroup() && cfg.TakeoverTable != "":
		r.c.add("takeover_table", "the peer owns no group (primary = %d), so the table would never run: remove it", cfg.Primary)
	}
}

func (r *reader) validateTimers(t *Timers) {
	const (
		interval   = "timers.interval"
		warntime   = "timers.warntime"
		deadtime   = "timers.deadtime"
		initdead   = "timers.initdead"
		ackTimeout = "timers.ack_timeout"
		retransmit = "timers.retransmit"
	)
	// Durations are at most maxDuration here, so nothing overflows; the
	// division keeps it so even if that limit grows.
	if r.ok(interval, deadtime) && t.Deadtime/3 < t.Interval {
		r.c.add(r.blame(deadtime, interval), "deadtime (%s) must be at least 3 × interval (%s): one lost heartbeat must not look like a dead peer", t.Deadtime, t.Interval)
	}
	if r.ok(interval, warntime) && t.Warntime <= t.Interval {
		r.c.add(r.blame(warntime, interval), "warntime (%s) must be longer than interval (%s), or every heartbeat is late", t.Warntime, t.Interval)
	}
	if r.ok(warntime, deadtime) && t.Warntime >= t.Deadtime {
		r.c.add(r.blame(warntime, deadtime), "warntime (%s) must be shorter than deadtime (%s), or no heartbeat is ever reported late", t.Warntime, t.Deadtime)
	}
	if r.ok(deadtime, initdead) && t.Initdead < t.Deadtime {
		r.c.add(r.blame(initdead, deadtime), "initdead (%s) must be at least deadtime (%s)", t.Initdead, t.Deadtime)
	}
	if r.ok(ackTimeout, retransmit) && t.Retransmit >= t.AckTimeout {
		r.c.add(r.blame(retransmit, ackTimeout), "retransmit (%s) must be shorter than ack_timeout (%s), or a lost control message is never resent", t.Retransmit, t.AckTimeout)
	}
}

func (r *reader) validatePaths(cfg *Config) {
	n := len(cfg.UDP) + len(cfg.Serial)
	if n == 0 {
		r.c.add("udp", "no heartbeat path: add at least one [[udp]] or [[serial]] table")
	}
	// keys[i] is the key path of the i-th path, UDP first, as in Config.
	keys := make([]string, 0, n)
	for i := range cfg.UDP {
		keys = append(keys, fmt.Sprintf("udp[%d]", i))
	}
	for i := range cfg.Serial {
		keys = append(keys, fmt.Sprintf("serial[%d]", i))
	}
	if n > MaxPaths {
		r.c.add(keys[MaxPaths], "%d heartbeat paths: at most %d are allowed", n, MaxPaths)
	}

	names := map[string]string{} // name → key of the path that has it
	for i := 0; i < n; i++ {
		name := ""
		if i < len(cfg.UDP) {
			name = cfg.UDP[i].Name
		} else {
			name = cfg.Serial[i-len(cfg.UDP)].Name
		}
		if first, dup := names[name]; dup && r.ok(keys[i]+".name") {
			r.c.add(keys[i]+".name", "path name %q is already used by %s", name, first)
			continue
		}
		names[name] = keys[i]
	}

	type bind struct {
		addr netip.AddrPort
		dev  string
	}
	locals := map[bind]string{}
	peers := map[netip.AddrPort]string{}
	for i, u := range cfg.UDP {
		key := keys[i]
		if !u.Local.IsValid() || !u.Peer.IsValid() {
			continue // read has reported it
		}
		if u.Local.Addr().Is4() != u.Peer.Addr().Is4() {
			r.c.add(r.blame(key+".peer", key+".local"), "local %s and peer %s are of different address families", u.Local, u.Peer)
			continue
		}
		if u.Local == u.Peer {
			r.c.add(key+".peer", "peer %s is this node's own local address", u.Peer)
			continue
		}
		b := bind{u.Local, u.Interface}
		if first, dup := locals[b]; dup {
			r.c.add(key+".local", "local %s is already bound by %s", u.Local, first)
		} else {
			locals[b] = key
		}
		if first, dup := peers[u.Peer]; dup {
			r.c.add(key+".peer", "peer %s is already the peer of %s: two paths to one socket are one path", u.Peer, first)
		} else {
			peers[u.Peer] = key
		}
	}

	devices := map[string]string{}
	for i, s := range cfg.Serial {
		key := keys[len(cfg.UDP)+i]
		if s.Device == "" {
			continue
		}
		if first, dup := devices[s.Device]; dup {
			r.c.add(key+".device", "device %s is already used by %s", s.Device, first)
		} else {
			devices[s.Device] = key
		}
	}
}

func (r *reader) validateFence(f *Fence) {
	if f.Required && f.Command == "" {
		r.c.add("fence.required", "fencing is required but fence.command is not set: a takeover after OVERTIME could never happen")
	}
}

func (r *reader) validateSupervise(s *Supervise) {
	const (
		liveness   = "supervise.liveness"
		hang       = "supervise.hang_timeout"
		grace      = "supervise.brain_grace"
		window     = "supervise.restart_window"
		backoffMin = "supervise.backoff_min"
		backoffMax = "supervise.backoff_max"
	)
	if r.ok(liveness, hang) && s.HangTimeout <= s.Liveness {
		r.c.add(r.blame(hang, liveness), "hang_timeout (%s) must be longer than liveness (%s), or a healthy process looks hung", s.HangTimeout, s.Liveness)
	}
	if r.ok(hang, grace) && s.BrainGrace <= s.HangTimeout {
		r.c.add(r.blame(grace, hang), "brain_grace (%s) must be longer than hang_timeout (%s), so had2 can be restarted before the heartbeats stop", s.BrainGrace, s.HangTimeout)
	}
	if r.ok(backoffMin, backoffMax) && s.BackoffMin > s.BackoffMax {
		r.c.add(r.blame(backoffMin, backoffMax), "backoff_min (%s) must not exceed backoff_max (%s)", s.BackoffMin, s.BackoffMax)
	}
	if r.ok(backoffMax, window) && s.BackoffMax >= s.RestartWindow {
		r.c.add(r.blame(backoffMax, window), "backoff_max (%s) must be shorter than restart_window (%s), or a crash loop never reaches max_restarts", s.BackoffMax, s.RestartWindow)
	}
}
