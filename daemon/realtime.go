package daemon

import (
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm/slots"
)

// rtPlan is what SetRealtime asks of the kernel for one role, worked out
// from the configuration alone.
type rtPlan struct {
	policy   int // SCHED_* for sched_setattr; -1: leave the policy alone
	priority int
	mcl      int // MCL_* flags for mlockall; 0: lock nothing
	want     slots.Sched
}

// Linux ABI values (sched.h, mman.h), kept here so the plan stays pure and
// testable on any system.
const (
	schedOther  = 0
	schedFIFO   = 1
	schedRR     = 2
	mclCurrent  = 1
	mclFuture   = 2
	mclOnFault  = 4
	noPolicy    = -1
	maxPriority = 99
)

// planRealtime works out the plan for role from rt: nothing at all for a
// role [realtime] does not list.
func planRealtime(rt config.Realtime, role string) rtPlan {
	p := rtPlan{policy: noPolicy}
	if !rt.Applies(role) {
		return p
	}
	prio := min(max(rt.Priority, 1), maxPriority)
	switch rt.Policy {
	case config.SchedRR:
		p.policy, p.priority, p.want.Policy, p.want.Priority = schedRR, prio, slots.SchedRR, uint8(prio)
	case config.SchedFIFO:
		p.policy, p.priority, p.want.Policy, p.want.Priority = schedFIFO, prio, slots.SchedFIFO, uint8(prio)
	}
	switch rt.LockMemory {
	case config.LockOnFault:
		p.mcl, p.want.Lock = mclCurrent|mclFuture|mclOnFault, slots.LockOnFault
	case config.LockCurrent:
		p.mcl, p.want.Lock = mclCurrent, slots.LockCurrent
	case config.LockAll:
		p.mcl, p.want.Lock = mclCurrent|mclFuture, slots.LockAll
	}
	return p
}
