package agents

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// ErrNoAgentEnv: the HAD_* variables a daemon agent gets from had1 are
// missing or wrong.
var ErrNoAgentEnv = errors.New("agents: not started by had1 as a daemon agent")

// ErrBadValue: an agent may report only OK, INFORMATION, WARNING or ERROR.
var ErrBadValue = errors.New("agents: an agent reports OK, INFORMATION, WARNING or ERROR")

// ReporterConfig says where a daemon agent writes.
type ReporterConfig struct {
	ShmPath  string        // the table (HAD_SHM)
	Slot     int           // the result slot (HAD_AGENT_SLOT)
	Name     string        // the agent's name (HAD_AGENT_NAME), for messages
	Interval time.Duration // how often the program reports (HAD_AGENT_INTERVAL)
}

// Hang is the promise written with every report: had2 trusts a result
// that long, and had1 restarts the agent when the slot is older.
func (c ReporterConfig) Hang() time.Duration { return Hang(c.Interval, 0) }

// ReporterConfigFromEnv reads the variables had1 sets for a daemon agent.
func ReporterConfigFromEnv() (ReporterConfig, error) {
	var c ReporterConfig
	c.ShmPath = os.Getenv(EnvShm)
	if c.ShmPath == "" {
		return c, fmt.Errorf("%s is not set: %w", EnvShm, ErrNoAgentEnv)
	}
	s := os.Getenv(EnvSlot)
	n, err := strconv.Atoi(s)
	if err != nil || !isResultSlot(n) {
		return c, fmt.Errorf("%s=%q is not an agent result slot: %w", EnvSlot, s, ErrNoAgentEnv)
	}
	c.Slot = n
	c.Name = os.Getenv(EnvName)
	s = os.Getenv(EnvInterval)
	if c.Interval, err = time.ParseDuration(s); err != nil || c.Interval <= 0 {
		return c, fmt.Errorf("%s=%q is not a duration: %w", EnvInterval, s, ErrNoAgentEnv)
	}
	return c, nil
}

// isResultSlot reports whether n is some agent's result slot.
func isResultSlot(n int) bool {
	for i := 0; i < shm.MaxAgents; i++ {
		if _, r := slots.AgentSlots(i); r == n {
			return true
		}
	}
	return false
}

// Reporter writes a daemon agent's result slot: the Go API for an
// operator's long-running program that had1 starts as a daemon agent.
//
//	r, err := agents.OpenReporter()
//	if err != nil { … }
//	defer r.Close()
//	for range time.Tick(r.Interval()) {
//		r.Report(shm.OK, "queue depth 3", 3)
//	}
//
// The program must report at least every Interval: had1 kills and
// restarts a daemon agent whose slot is older than Hang (3 intervals, at
// least interval+1s). A Reporter holds the slot's role lock, so a second
// copy of the program cannot write the same slot. It is not safe for
// concurrent use.
type Reporter struct {
	cfg     ReporterConfig
	t       *shm.Table
	unlock  func()
	counter uint64
	last    shm.Value
	written bool
}

// OpenReporter opens the slot named by the environment had1 set.
func OpenReporter() (*Reporter, error) {
	c, err := ReporterConfigFromEnv()
	if err != nil {
		return nil, err
	}
	return OpenReporterWith(c)
}

// OpenReporterWith opens the slot c names.
func OpenReporterWith(c ReporterConfig) (*Reporter, error) {
	if !isResultSlot(c.Slot) || c.Interval <= 0 {
		return nil, fmt.Errorf("open reporter: slot %d interval %s: %w", c.Slot, c.Interval, ErrNoAgentEnv)
	}
	t, err := shm.Open(c.ShmPath)
	if err != nil {
		return nil, fmt.Errorf("open reporter: %w", err)
	}
	unlock, err := t.Lock(c.Slot)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("open reporter for agent %s: %w", c.Name, err)
	}
	r := &Reporter{cfg: c, t: t, unlock: unlock}
	// The counter goes on across restarts, and had2 hears only of news:
	// a fresh result of the same value is none.
	if last, had, fresh := (TableSlot{Table: t, Index: c.Slot}).Last(); had {
		r.counter, r.last, r.written = last.Counter, last.Value, fresh
	}
	return r, nil
}

// Interval is how often the program should report.
func (r *Reporter) Interval() time.Duration { return r.cfg.Interval }

// Report writes one result: value (OK, shm.Information, shm.Warning or
// shm.Error), a message (cut to 112 bytes) and up to 12 metric words. It
// bumps the counter, promises the next report within Hang, and wakes had2
// when the value changed.
func (r *Reporter) Report(value shm.Value, text string, metrics ...uint64) error {
	if value > shm.Error {
		return fmt.Errorf("report %d: %w", value, ErrBadValue)
	}
	if len(metrics) > slots.MetricWords {
		return fmt.Errorf("report: %d metric words, at most %d", len(metrics), slots.MetricWords)
	}
	res := slots.AgentResult{Value: value, Interval: int64(r.cfg.Hang()), Text: text}
	copy(res.Metrics[:], metrics)
	r.counter++
	res.Counter = r.counter
	r.t.Write(r.cfg.Slot, res.Record())
	if !r.written || value != r.last {
		r.t.Ring(shm.BellHad2)
	}
	r.written, r.last = true, value
	return nil
}

// Close releases the slot's lock and the table.
func (r *Reporter) Close() error {
	r.unlock()
	return r.t.Close()
}
