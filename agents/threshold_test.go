package agents

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"

	"github.com/hadcluster/had/shm"
)

func TestThreshold(t *testing.T) {
	tests := []struct {
		pct, warn, err float64
		want           shm.Value
		text           string
	}{
		{50, 90, 98, shm.OK, "x 50.0% detail"},
		{90, 90, 98, shm.Warning, "x 90.0% detail, warning at 90%"},
		{97.9, 90, 98, shm.Warning, "warning at 90%"},
		{98, 90, 98, shm.Error, "x 98.0% detail, error at 98%"},
		{100, 0, 98, shm.Error, "error at 98%"},
		{95, 0, 98, shm.OK, "x 95.0%"},
		{100, 90, 0, shm.Warning, "warning at 90%"},
	}
	for _, tc := range tests {
		got := threshold("x", tc.pct, tc.warn, tc.err, "detail")
		if got.Value != tc.want || !strings.Contains(got.Text, tc.text) {
			t.Errorf("%v%% (warn %v, error %v): got %v %q, want %v %q", tc.pct, tc.warn, tc.err, got.Value, got.Text, tc.want, tc.text)
		}
	}
}

func TestBusyPercent(t *testing.T) {
	a := cpu.TimesStat{User: 100, System: 50, Idle: 800, Iowait: 50}
	tests := []struct {
		b    cpu.TimesStat
		want float64
	}{
		{cpu.TimesStat{User: 110, System: 60, Idle: 870, Iowait: 60}, 20},             // 20 busy of 100
		{cpu.TimesStat{User: 100, System: 50, Idle: 900, Iowait: 50}, 0},              // all idle
		{cpu.TimesStat{User: 200, System: 50, Idle: 800, Iowait: 50}, 100},            // all user
		{cpu.TimesStat{User: 100, System: 50, Idle: 800, Iowait: 50, Steal: 50}, 100}, // stolen counts as busy
		{a, 0},                       // no time passed
		{cpu.TimesStat{User: 10}, 0}, // counters went back (a reset): 0, not negative
	}
	for i, tc := range tests {
		if got := busyPercent(a, tc.b); got != tc.want {
			t.Errorf("%d: got %v, want %v", i, got, tc.want)
		}
	}
}

func TestCPUCheck(t *testing.T) {
	samples := []cpu.TimesStat{
		{User: 0, Idle: 0},
		{User: 5, Idle: 95},   // first check: 5%
		{User: 100, Idle: 95}, // 100%
		{User: 100, Idle: 195},
	}
	n := 0
	c := &cpuCheck{warn: 90, err: 99, times: func(context.Context) (cpu.TimesStat, error) {
		s := samples[min(n, len(samples)-1)]
		n++
		return s, nil
	}}
	for i, want := range []struct {
		v    shm.Value
		text string
	}{{shm.OK, "CPU 5.0% busy"}, {shm.Error, "CPU 100.0% busy, error at 99%"}, {shm.OK, "CPU 0.0% busy"}} {
		if got := c.Check(context.Background()); got.Value != want.v || got.Text != want.text {
			t.Errorf("check %d: got %v %q, want %v %q", i, got.Value, got.Text, want.v, want.text)
		}
	}
	c = &cpuCheck{times: func(context.Context) (cpu.TimesStat, error) { return cpu.TimesStat{}, errors.New("no /proc") }}
	if got := c.Check(context.Background()); got.Value != shm.Error || !strings.Contains(got.Text, "no /proc") {
		t.Errorf("got %v %q, want ERROR naming the cause", got.Value, got.Text)
	}
}

func TestMemoryAndDiskChecks(t *testing.T) {
	m := &memoryCheck{warn: 80, err: 95, read: func(context.Context) (*mem.VirtualMemoryStat, error) {
		return &mem.VirtualMemoryStat{Total: 8 << 30, Available: 1 << 30, UsedPercent: 87.5}, nil
	}}
	if got := m.Check(context.Background()); got.Value != shm.Warning || got.Text != "memory 87.5% used (7.0 GiB of 8.0 GiB), warning at 80%" {
		t.Errorf("memory: got %v %q", got.Value, got.Text)
	}
	d := &diskCheck{path: "/var", warn: 80, err: 95, usage: func(_ context.Context, p string) (*disk.UsageStat, error) {
		return &disk.UsageStat{Path: p, Free: 1 << 29, UsedPercent: 96}, nil
	}}
	if got := d.Check(context.Background()); got.Value != shm.Error || got.Text != "/var 96.0% used (0.5 GiB free), error at 95%" {
		t.Errorf("disk: got %v %q", got.Value, got.Text)
	}
}

// TestThresholdAgentsReal reads this machine once through each kind.
func TestThresholdAgentsReal(t *testing.T) {
	for _, kind := range []string{"cpu", "memory", "disk"} {
		a := defaultOf(kind)
		a.WarnPercent, a.ErrorPercent = 0, 100.5 // nothing reaches it: the check must be OK
		got := New1(t, a).Check(context.Background())
		if got.Value != shm.OK {
			t.Errorf("%s: got %v %q, want OK", kind, got.Value, got.Text)
		}
		t.Logf("%s: %s", kind, got.Text)
	}
}
