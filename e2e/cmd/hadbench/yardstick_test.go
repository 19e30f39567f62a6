package main

import (
	"testing"
	"time"
)

func TestYardstickPrice(t *testing.T) {
	// 0.3 % of a core over 30 runs a second: 100 µs a run.
	y := procCost{threads: []threadCost{{cpu: 0.2, wakeups: 29}, {cpu: 0.1, wakeups: 1}}}
	if got := yardstickPrice(y); got != 100*time.Microsecond {
		t.Errorf("price = %v, want 100µs", got)
	}
	if got := yardstickPrice(procCost{threads: []threadCost{{cpu: 0.1}}}); got != 0 {
		t.Errorf("price without runs = %v, want 0", got)
	}
}

func TestNodeWakeupsLeavesAgentsOut(t *testing.T) {
	procs := []procCost{
		{role: "had1", threads: []threadCost{{wakeups: 2}, {wakeups: 0.5}}},
		{role: "sender", threads: []threadCost{{wakeups: 10}}},
		{role: "agent (stats)", threads: []threadCost{{wakeups: 15}}},
	}
	if got := nodeWakeups(procs); got != 12.5 {
		t.Errorf("wake-ups = %v, want 12.5", got)
	}
}
