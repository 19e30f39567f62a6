package main

import (
	"fmt"
	"testing"
	"time"
)

var sprintf = fmt.Sprintf

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

func TestParseCPUTime(t *testing.T) {
	fields := "S 1 2 3 4 5 6 7 8 9 10 %s %s 14 15 16"
	tests := []struct {
		name, in string
		want     time.Duration
		ok       bool
	}{
		{"utime+stime", "42 (had-receiver) " + sprintf(fields, "30", "12"), 420 * time.Millisecond, true},
		{"name with spaces and parens", "42 (a) (b) " + sprintf(fields, "1", "1"), 20 * time.Millisecond, true},
		{"no name", "42 had " + sprintf(fields, "1", "1"), 0, false},
		{"short", "42 (x) S 1 2", 0, false},
		{"not a number", "42 (x) " + sprintf(fields, "a", "1"), 0, false},
	}
	for _, tt := range tests {
		got, err := parseCPUTime([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v, ok %v", tt.name, got, err, tt.want, tt.ok)
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
