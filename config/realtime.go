package config

import "fmt"

// SchedPolicy is the scheduling policy of the daemons on the heartbeat
// path (sched(7)).
type SchedPolicy string

const (
	SchedRR   SchedPolicy = "rr"   // SCHED_RR: realtime, round robin among equals
	SchedFIFO SchedPolicy = "fifo" // SCHED_FIFO: realtime, runs until it blocks
	SchedOff  SchedPolicy = "off"  // the normal time-sharing policy
)

// MemLock is how those daemons lock their memory (mlockall(2)).
type MemLock string

const (
	// LockOnFault: every page stays in memory once touched
	// (MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT); nothing is populated ahead,
	// so the RSS stays what the daemon uses.
	LockOnFault MemLock = "onfault"
	// LockCurrent: what is mapped now is populated and locked
	// (MCL_CURRENT); later growth is not locked.
	LockCurrent MemLock = "current"
	// LockAll: every mapping, now and later, is populated and locked
	// (MCL_CURRENT|MCL_FUTURE).
	LockAll MemLock = "all"
	// LockOff: nothing is locked.
	LockOff MemLock = "off"
)

// Realtime protects the daemons that carry heartbeats and decide from
// scheduling stalls on a busy machine, as keepalived (vrrp_rt_priority,
// vrrp_no_swap) and corosync (SCHED_RR, mlockall) do. A daemon that is not
// allowed to (no CAP_SYS_NICE, a container) logs a warning and runs at
// the normal policy.
type Realtime struct {
	Policy     SchedPolicy
	Priority   int // 1 (lowest) to 99
	LockMemory MemLock
	// Processes are the roles that apply it: had1, had2, sender,
	// receiver, admin.
	Processes []string
}

// RealtimeRoles are the daemons [realtime] may name.
var RealtimeRoles = []string{"had1", "had2", "sender", "receiver", "admin"}

// DefaultRealtime returns the shipped settings (README, "Why these
// defaults"): SCHED_RR for the supervisors and the heartbeat path, at a
// priority under the kernel's threaded interrupt handlers (50), which
// deliver the very frames the receiver waits for; memory locked as it is
// touched, which keeps the RSS of each daemon what it was (MCL_CURRENT
// would populate every Go arena reservation: 2.6 → 41 MiB for a small Go
// program, measured).
func DefaultRealtime() Realtime {
	return Realtime{
		Policy:     SchedRR,
		Priority:   20,
		LockMemory: LockOnFault,
		// had1 too: it is what restarts a killed sender or receiver, and a
		// restart must not wait for a CPU either. The admin server and the
		// agents serve people and checks, and stay time-shared.
		Processes: []string{"had1", "had2", "sender", "receiver"},
	}
}

// Applies reports whether role (had1, had2, sender, receiver, admin) runs
// with the realtime settings.
func (r Realtime) Applies(role string) bool { return contains(r.Processes, role) }

// readRealtime reads the [realtime] table.
func (r *reader) readRealtime(f *tomlFile, cfg *Config) {
	rt := &cfg.Realtime
	t := f.Realtime
	if s, ok := r.oneOf("realtime.policy", t.Policy, false, string(SchedRR), string(SchedFIFO), string(SchedOff)); ok {
		rt.Policy = SchedPolicy(s)
	}
	if n, ok := r.integer("realtime.priority", t.Priority, false); ok {
		if n < 1 || n > 99 {
			r.fail("realtime.priority", "%d is out of range: want 1 (lowest) to 99", n)
		} else {
			rt.Priority = int(n)
		}
	}
	if s, ok := r.oneOf("realtime.lock_memory", t.LockMemory, false, string(LockOnFault), string(LockCurrent), string(LockAll), string(LockOff)); ok {
		rt.LockMemory = MemLock(s)
	}
	if t.Processes == nil {
		return
	}
	list, ok := t.Processes.([]any)
	if !ok {
		r.fail("realtime.processes", "want a list of process names (%s), got %s", quoteAll(RealtimeRoles), tomlType(t.Processes))
		return
	}
	rt.Processes = []string{}
	for i, v := range list {
		s, ok := v.(string)
		switch {
		case !ok || !contains(RealtimeRoles, s):
			r.fail("realtime.processes", "entry %d (%v) is not one of %s", i+1, v, quoteAll(RealtimeRoles))
		case contains(rt.Processes, s):
			r.fail("realtime.processes", "entry %d: %q is listed twice", i+1, s)
		default:
			rt.Processes = append(rt.Processes, s)
		}
	}
}

// String is the table as a log line shows it.
func (r Realtime) String() string {
	return fmt.Sprintf("policy %s, priority %d, lock_memory %s, processes %v", r.Policy, r.Priority, r.LockMemory, r.Processes)
}
