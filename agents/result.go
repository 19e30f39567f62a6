package agents

import (
	"context"
	"errors"
	"fmt"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// ErrNotBuiltIn: the agent is a daemon agent, which had1 starts itself;
// had-agent does not run it.
var ErrNotBuiltIn = errors.New("agents: a daemon agent is not run by had-agent")

// Result is what one check found.
type Result struct {
	Value   shm.Value // OK, Information, Warning or Error
	Text    string    // for humans; the slot keeps shm.TextSize bytes
	Metrics [slots.MetricWords]uint64
}

func okf(format string, args ...any) Result {
	return Result{Value: shm.OK, Text: fmt.Sprintf(format, args...)}
}

func warnf(format string, args ...any) Result {
	return Result{Value: shm.Warning, Text: fmt.Sprintf(format, args...)}
}

func errorf(format string, args ...any) Result {
	return Result{Value: shm.Error, Text: fmt.Sprintf(format, args...)}
}

// Checker runs one check of an agent. Check should return when ctx ends
// (its deadline is the agent's timeout); the runner stops waiting at the
// timeout in any case and starts no second check while one still runs.
type Checker interface {
	Check(ctx context.Context) Result
}

// Watcher is a Checker that also hears of changes by itself (the link
// agent's netlink events): Watch runs until ctx ends and calls changed
// whenever a check should run now rather than at the next interval.
type Watcher interface {
	Checker
	Watch(ctx context.Context, changed func())
}
