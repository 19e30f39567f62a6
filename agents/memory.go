package agents

import (
	"context"
	"fmt"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/hadcluster/had/config"
)

// memoryCheck: the share of memory in use (total minus what the kernel
// calls available, as free(1) counts it), against the thresholds.
type memoryCheck struct {
	warn, err float64
	read      func(ctx context.Context) (*mem.VirtualMemoryStat, error)
}

func newMemory(a config.Agent) *memoryCheck {
	return &memoryCheck{warn: a.WarnPercent, err: a.ErrorPercent, read: mem.VirtualMemoryWithContext}
}

func (c *memoryCheck) Check(ctx context.Context) Result {
	m, err := c.read(ctx)
	if err != nil {
		return errorf("read memory: %v", err)
	}
	return threshold("memory", m.UsedPercent, c.warn, c.err, fmt.Sprintf("used (%s of %s)", gib(m.Total-m.Available), gib(m.Total)))
}

// gib formats a byte count in GiB with one decimal.
func gib(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }
