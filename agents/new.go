package agents

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/config"
)

// New returns the checker of a built-in or exec agent; ErrNotBuiltIn for
// a daemon agent.
func New(a config.Agent, log zerolog.Logger) (Checker, error) {
	switch a.Kind {
	case config.KindProcess:
		return newProcess(a), nil
	case config.KindHTTP:
		return newHTTP(a), nil
	case config.KindTCP:
		return newTCP(a), nil
	case config.KindGateway:
		return newGateway(a)
	case config.KindLink:
		return newLink(a, log), nil
	case config.KindCPU:
		return newCPU(a), nil
	case config.KindMemory:
		return newMemory(a), nil
	case config.KindDisk:
		return newDisk(a), nil
	case config.KindStats:
		return newStats(), nil
	case config.KindExec:
		if len(a.Command) == 0 {
			return nil, fmt.Errorf("agent %s: no command", a.Name)
		}
		return newExec(a), nil
	case config.KindDaemon:
		return nil, fmt.Errorf("agent %s: %w", a.Name, ErrNotBuiltIn)
	}
	return nil, fmt.Errorf("agent %s: unknown kind %q", a.Name, a.Kind)
}

// NewRunner returns the runner of spec writing to slot.
func NewRunner(spec Spec, slot Slot, log zerolog.Logger) (*Runner, error) {
	c, err := New(spec.Agent, log)
	if err != nil {
		return nil, err
	}
	return &Runner{Checker: c, Slot: slot, Interval: spec.Interval, Timeout: spec.Timeout, Hang: spec.Hang,
		Fall: spec.Agent.Fall, Rise: spec.Agent.Rise, Log: log}, nil
}
