package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/sleeper"
)

// yardstickHz is how often the yardstick wakes: about as often as an idle
// node's threads together (27–34 times a second, README).
const yardstickHz = 30

// The yardstick is the idle part's measure of the machine: a process that
// does nothing but wake up, the way the daemons' loops do (one P, SCHED_RR
// with memory locked as the heartbeat daemons run, a sleeper).
// Sampled beside the node, what it costs per wake-up is the price this
// machine puts on a wake-up at that moment, which on a VM varies by a
// factor of two from one minute to the next; the node's wake-ups times
// that price is what the node's figure costs before any work is done.

// runYardstick is hadbench -yardstick: it wakes hz times a second until
// killed.
func runYardstick(hz int) {
	daemon.OneProc()
	daemon.SetRealtime(config.DefaultRealtime(), "sender", zerolog.Nop())
	s, err := sleeper.New()
	if err != nil {
		fail("yardstick", err)
	}
	period := int64(time.Second) / int64(hz)
	next := shm.Now()
	for {
		next = max(next+period, shm.Now()) // off the node's grids: its own phase
		for shm.Now() < next {             // a Sleep may end early: loop, as the daemons do
			s.Sleep(next)
		}
	}
}

// startYardstick starts this program as the yardstick; it dies with
// hadbench if hadbench is killed.
func startYardstick() (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("yardstick: %w", err)
	}
	cmd := exec.Command(self, "-yardstick", strconv.Itoa(yardstickHz))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("yardstick: %w", err)
	}
	return cmd, nil
}

// stopYardstick kills the yardstick it started, by PID, and reaps it.
func stopYardstick(cmd *exec.Cmd) {
	cmd.Process.Kill()
	cmd.Wait()
}

// nodeWakeups is how many times a second the threads of had1, had2, the
// sender, the receiver and the admin server were run together.
func nodeWakeups(procs []procCost) float64 {
	var n float64
	for _, p := range procs {
		if isAgent(p) {
			continue
		}
		for _, t := range p.threads {
			n += t.wakeups
		}
	}
	return n
}

// yardstickPrice is the yardstick's CPU per wake-up over the sample.
func yardstickPrice(y procCost) time.Duration {
	var cpu, runs float64
	for _, t := range y.threads {
		runs += t.wakeups
		cpu += t.cpu
	}
	if runs == 0 {
		return 0
	}
	// cpu is % of one core, runs per second: seconds of CPU per run.
	return time.Duration(cpu / 100 / runs * float64(time.Second))
}

// isAgent tells an agent's process from the node's own daemons.
func isAgent(p procCost) bool { return strings.HasPrefix(p.role, "agent") }
