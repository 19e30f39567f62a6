package main

import (
	"testing"
	"time"
)

func TestParseCPUStat(t *testing.T) {
	tests := []struct {
		name, in string
		want     cpuSample
		ok       bool
	}{
		{"linux 6", "cpu  100 5 50 800 20 0 25 0 0 0\ncpu0 1 2 3\n", cpuSample{idle: 820, total: 1000}, true},
		{"no newline", "cpu  1 0 1 6 1 0 1 0", cpuSample{idle: 7, total: 10}, true},
		{"too short", "cpu  1 2 3\n", cpuSample{}, false},
		{"not a number", "cpu  1 2 x 4 5 6 7 8\n", cpuSample{}, false},
		{"not the cpu line", "intr 1 2 3 4 5 6 7 8 9\n", cpuSample{}, false},
	}
	for _, tt := range tests {
		got, err := parseCPUStat([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v, ok %v", tt.name, got, err, tt.want, tt.ok)
		}
	}
	a, b := cpuSample{idle: 100, total: 200}, cpuSample{idle: 110, total: 300}
	if got := b.since(a); got != 90 {
		t.Errorf("busy: got %v%%, want 90%%", got)
	}
	if got := a.since(a); got != 0 {
		t.Errorf("busy over nothing: got %v, want 0", got)
	}
}

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Duration
		runs     uint64
		ok       bool
	}{
		{"thread", "123456789 2000 42\n", 123456789, 42, true},
		{"short", "12 3\n", 0, 0, false},
		{"not a number", "x 1 2\n", 0, 0, false},
		{"runs not a number", "1 1 x\n", 0, 0, false},
	}
	for _, tt := range tests {
		got, runs, err := parseSchedstat([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want || runs != tt.runs {
			t.Errorf("%s: got %v, %d, %v; want %v, %d, ok %v", tt.name, got, runs, err, tt.want, tt.runs, tt.ok)
		}
	}
}

func TestStatusKiB(t *testing.T) {
	status := "Name:\thad-receiver\nVmLck:\t 1594816 kB\nVmRSS:\t    6656 kB\n"
	rollup := "Rss:                6656 kB\nLocked:             3584 kB\n"
	tests := []struct {
		name, in, key string
		want          float64
		ok            bool
	}{
		{"VmRSS", status, "VmRSS", 6656, true},
		{"VmLck", status, "VmLck", 1594816, true},
		{"Locked in smaps_rollup", rollup, "Locked", 3584, true},
		{"missing", status, "VmSwap", 0, false},
		{"prefix of another key", status, "Vm", 0, false},
	}
	for _, tt := range tests {
		got, ok := statusKiB([]byte(tt.in), tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestThreadCosts(t *testing.T) {
	before := map[int]threadSample{7: {name: "had1", policy: "RR", cpu: time.Millisecond, runs: 10}}
	after := map[int]threadSample{
		7: {name: "had1", policy: "RR", cpu: 3 * time.Millisecond, runs: 30},
		9: {name: "had1", policy: "OTHER", cpu: 5 * time.Millisecond, runs: 5}, // born during the sample
	}
	got, total := threadCosts(7, before, after, time.Second)
	if total != 7*time.Millisecond {
		t.Errorf("total: got %v, want 7ms", total)
	}
	if len(got) != 2 || got[0].name != "had1" || got[0].policy != "OTHER" || got[1].name != "main" {
		t.Fatalf("threads: got %+v, want the busiest (9) first, then the leader as main", got)
	}
	if m := got[1]; m.wakeups != 20 || m.perWake != 100*time.Microsecond || m.cpu != 0.2 {
		t.Errorf("leader: got %.1f wake-ups/s, %v per wake-up, %.2f %%; want 20, 100µs, 0.2", m.wakeups, m.perWake, m.cpu)
	}
}
