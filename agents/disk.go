package agents

import (
	"context"
	"fmt"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/hadcluster/had/config"
)

// diskCheck: the share of a file system in use, as df(1) counts it (used
// over used plus what non-root users may still write), against the
// thresholds. statfs on a dead network file system blocks; the runner's
// timeout turns that into an ERROR.
type diskCheck struct {
	path      string
	warn, err float64
	usage     func(ctx context.Context, path string) (*disk.UsageStat, error)
}

func newDisk(a config.Agent) *diskCheck {
	return &diskCheck{path: a.Path, warn: a.WarnPercent, err: a.ErrorPercent, usage: disk.UsageWithContext}
}

func (c *diskCheck) Check(ctx context.Context) Result {
	u, err := c.usage(ctx, c.path)
	if err != nil {
		return errorf("read usage of %s: %v", c.path, err)
	}
	return threshold(c.path, u.UsedPercent, c.warn, c.err, fmt.Sprintf("used (%s free)", gib(u.Free)))
}
