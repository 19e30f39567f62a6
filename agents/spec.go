package agents

import (
	"path/filepath"
	"strconv"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm/slots"
)

// Program is the name of the program that runs built-in and exec agents.
const Program = "had-agent"

// Environment of a daemon agent (and what Reporter and ReportCommand read).
const (
	EnvShm        = "HAD_SHM"               // the table's path
	EnvSlot       = "HAD_AGENT_SLOT"        // the agent's result slot number
	EnvName       = "HAD_AGENT_NAME"        // the agent's name
	EnvInterval   = "HAD_AGENT_INTERVAL"    // how often to report, a Go duration ("1s")
	EnvIntervalMS = "HAD_AGENT_INTERVAL_MS" // the same in milliseconds, for other languages
	EnvHangMS     = "HAD_AGENT_HANG_MS"     // the promise to write in the slot's interval word, in ms
)

// Spec is one agent of the node as had1 runs it.
type Spec struct {
	Index    int // its slot pair: slots.AgentSlots(Index)
	Name     string
	Kind     config.AgentKind
	Critical bool // its ERROR hands the node's groups over
	Service  bool // it watches the services the node runs, not the node itself
	Interval time.Duration
	Timeout  time.Duration // 0 for a daemon agent, which has no check to time out
	// Hang: the result slot not rewritten for this long means the agent
	// hangs; had1 kills and restarts it. It is also the Interval every
	// agent writes in its slot, so had2 stops trusting a result then.
	Hang time.Duration
	Argv []string // how had1 starts it
	Env  []string // "KEY=value" added to had1's environment (daemon agents)
	// File is the agents-directory program it came from; "" for a
	// configured agent.
	File  string
	Agent config.Agent // the whole configuration, for had-agent
}

// ResultSlot is the slot the agent writes.
func (s Spec) ResultSlot() int {
	_, r := slots.AgentSlots(s.Index)
	return r
}

// IDSlot is the slot had1 writes for the agent (slots.AgentID).
func (s Spec) IDSlot() int {
	id, _ := slots.AgentSlots(s.Index)
	return id
}

// Hang is how long an agent may leave its slot unwritten before it counts
// as hung: a check runs every interval and takes at most timeout, so a
// healthy agent writes at least every interval+timeout; a second more
// covers a loaded machine, and three intervals keep a slow tick or two
// from looking like a hang.
func Hang(interval, timeout time.Duration) time.Duration {
	return max(3*interval, interval+timeout+time.Second)
}

// spec turns one agent into its Spec.
func spec(index int, a config.Agent, file string, cfg *config.Config, configPath, binDir string) Spec {
	s := Spec{Index: index, Name: a.Name, Kind: a.Kind, Critical: a.Critical, Service: a.Service(),
		Interval: a.Interval, Timeout: a.Timeout, File: file, Agent: a}
	if a.Kind == config.KindDaemon {
		s.Timeout = 0
		s.Hang = Hang(a.Interval, 0)
		s.Argv = append([]string(nil), a.Command...)
		s.Env = []string{
			EnvShm + "=" + cfg.ShmPath,
			EnvSlot + "=" + strconv.Itoa(s.ResultSlot()),
			EnvName + "=" + a.Name,
			EnvInterval + "=" + a.Interval.String(),
			EnvIntervalMS + "=" + strconv.FormatInt(a.Interval.Milliseconds(), 10),
			EnvHangMS + "=" + strconv.FormatInt(s.Hang.Milliseconds(), 10),
		}
		return s
	}
	s.Hang = Hang(a.Interval, a.Timeout)
	// "--flag=value": a name may start with '-'.
	s.Argv = []string{filepath.Join(binDir, Program), "--config=" + configPath, "--agent=" + a.Name}
	return s
}
