package agents

import (
	"context"
	"errors"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/hadcluster/had/config"
)

// cpuCheck: the share of CPU time the machine spent busy since the last
// check, against the thresholds. The figure comes from successive
// /proc/stat totals (cpu.Times deltas), not from gopsutil's Percent with a
// 0 interval, whose meaning depends on a hidden previous call
// (libraries.md §6).
type cpuCheck struct {
	warn, err float64
	times     func(ctx context.Context) (cpu.TimesStat, error)
	prev      *cpu.TimesStat
}

func newCPU(a config.Agent) *cpuCheck {
	return &cpuCheck{warn: a.WarnPercent, err: a.ErrorPercent, times: cpuTotal}
}

// errNoCPUTimes: /proc/stat had no cpu line.
var errNoCPUTimes = errors.New("agents: no CPU times")

// cpuTotal reads the machine's CPU times, all CPUs together.
func cpuTotal(ctx context.Context) (cpu.TimesStat, error) {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil {
		return cpu.TimesStat{}, err
	}
	if len(ts) == 0 {
		return cpu.TimesStat{}, errNoCPUTimes
	}
	return ts[0], nil
}

func (c *cpuCheck) Check(ctx context.Context) Result {
	cur, err := c.times(ctx)
	if err != nil {
		return errorf("read CPU times: %v", err)
	}
	if c.prev == nil {
		first := cur
		c.prev = &first
		if !sleepCtx(ctx, firstWait(ctx)) {
			return errorf("%v", ctx.Err())
		}
		if cur, err = c.times(ctx); err != nil {
			return errorf("read CPU times: %v", err)
		}
	}
	pct := busyPercent(*c.prev, cur)
	c.prev = &cur
	return threshold("CPU", pct, c.warn, c.err, "busy")
}

// busyPercent is the busy share of the CPU time between two samples:
// everything but idle and iowait (as top and gopsutil count it). Guest
// time is already inside user time on Linux and is not added again.
func busyPercent(a, b cpu.TimesStat) float64 {
	total := func(t cpu.TimesStat) float64 {
		return t.User + t.Nice + t.System + t.Idle + t.Iowait + t.Irq + t.Softirq + t.Steal
	}
	dt := total(b) - total(a)
	if dt <= 0 {
		return 0
	}
	idle := (b.Idle + b.Iowait) - (a.Idle + a.Iowait)
	pct := 100 * (dt - idle) / dt
	return min(max(pct, 0), 100)
}
