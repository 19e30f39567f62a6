package agents

import (
	"context"
	"fmt"
	"time"
)

// threshold judges a percentage against the agent's thresholds (0: off).
// detail follows the figure in the message.
func threshold(what string, pct, warn, errAt float64, detail string) Result {
	msg := fmt.Sprintf("%s %.1f%%", what, pct)
	if detail != "" {
		msg += " " + detail
	}
	switch {
	case errAt > 0 && pct >= errAt:
		return errorf("%s, error at %g%%", msg, errAt)
	case warn > 0 && pct >= warn:
		return warnf("%s, warning at %g%%", msg, warn)
	}
	return okf("%s", msg)
}

// firstWindow is how long an agent that computes rates from successive
// counters (cpu, stats) waits for its first figure: the first check has no
// previous sample. A short timeout shortens it to half the time left.
const firstWindow = 250 * time.Millisecond

// firstWait is firstWindow within ctx's deadline.
func firstWait(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return min(firstWindow, time.Until(dl)/2)
	}
	return firstWindow
}

// sleepCtx waits d or until ctx ends, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
