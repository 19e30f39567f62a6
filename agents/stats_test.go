package agents

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func TestStatsWords(t *testing.T) {
	s := Stats{Valid: true, CPUPercent: 12.34, MemPercent: 56.78, NetPacketsIn: 1000.5, NetPacketsOut: 0.25,
		DiskReads: 3, DiskWrites: 42.01, NetBytesIn: 123456, NetBytesOut: 7, DiskReadBytes: 4096, DiskWriteBytes: 1 << 20,
		Load1: 0.42, Window: 1500 * time.Millisecond}
	m := s.Metrics()
	want := [slots.MetricWords]uint64{1234, 5678, 100050, 25, 300, 4201, 123456, 7, 4096, 1 << 20, 42, StatsMarker<<32 | 1500}
	if m != want {
		t.Errorf("got words %v, want %v", m, want)
	}
	if got := ParseStats(slots.AgentResult{Metrics: m}); !reflect.DeepEqual(got, s) {
		t.Errorf("got %+v, want %+v", got, s)
	}
	if got := ParseStats(slots.AgentResult{Metrics: [slots.MetricWords]uint64{1, 2, 3}}); got.Valid {
		t.Errorf("another agent's metrics: got %+v, want not Valid", got)
	}
	if got := (Stats{CPUPercent: math.NaN(), MemPercent: -3, NetBytesIn: 1e30}).Metrics(); got[0] != 0 || got[1] != 0 || got[6] != math.MaxUint64 {
		t.Errorf("NaN, negative, huge: got %v, want 0, 0, max", got[:7])
	}
}

// FuzzParseStats: any words decode without panicking, and the words of a
// valid result re-encode to themselves (up to 2^50, where ×100 float
// arithmetic is still exact).
func FuzzParseStats(f *testing.F) {
	f.Add(uint64(1234), uint64(5678), uint64(100050), uint64(StatsMarker<<32|1500))
	f.Add(uint64(0), uint64(0), uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, a, b, c, mark uint64) {
		var m [slots.MetricWords]uint64
		for i := range m {
			m[i] = []uint64{a, b, c}[i%3] % (1 << 50)
		}
		m[StatsMarkWord] = mark
		s := ParseStats(slots.AgentResult{Metrics: m})
		if !s.Valid {
			if s != (Stats{}) {
				t.Fatalf("invalid but not zero: %+v", s)
			}
			return
		}
		if got := s.Metrics(); got != m {
			t.Fatalf("words %v re-encode to %v", m, got)
		}
	})
}

func TestStatsFrom(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := sample{at: t0, cpu: cpu.TimesStat{User: 10, Idle: 90}, pktIn: 100, pktOut: 50, bIn: 1000, bOut: 500, reads: 10, writes: 20, rBytes: 4096, wByte: 8192}
	b := sample{at: t0.Add(2 * time.Second), cpu: cpu.TimesStat{User: 60, Idle: 140}, mem: 41.5, pktIn: 300, pktOut: 40, bIn: 3000, bOut: 900,
		reads: 14, writes: 20, rBytes: 4096 * 3, wByte: 8192, load1: 1.5}
	got := statsFrom(a, b)
	want := Stats{Valid: true, CPUPercent: 50, MemPercent: 41.5, NetPacketsIn: 100, NetPacketsOut: 0, DiskReads: 2, DiskWrites: 0,
		NetBytesIn: 1000, NetBytesOut: 200, DiskReadBytes: 4096, DiskWriteBytes: 0, Load1: 1.5, Window: 2 * time.Second}
	if got != want {
		t.Errorf("got %+v, want %+v (a counter that went back gives 0)", got, want)
	}
	if got.Summary() != "cpu 50.0% mem 41.5% net 100/0 pkt/s disk 2/0 io/s load 1.50" {
		t.Errorf("got summary %q", got.Summary())
	}
}

func TestPhysicalDisks(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"sda/device", "sda/sda1", "vdb/device", "loop0/queue", "dm-0/dm", "nvme0n1/device"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := physicalDisks(dir), []string{"nvme0n1", "sda", "vdb"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestStatsCheckReal(t *testing.T) {
	c := New1(t, defaultOf("stats"))
	got := c.Check(context.Background())
	if got.Value != shm.OK || !strings.HasPrefix(got.Text, "cpu ") {
		t.Fatalf("got %v %q, want OK with a summary", got.Value, got.Text)
	}
	s := ParseStats(slots.AgentResult{Metrics: got.Metrics})
	if !s.Valid || s.Window < firstWindow || s.MemPercent <= 0 || s.MemPercent > 100 {
		t.Errorf("got %+v, want valid figures over at least %s", s, firstWindow)
	}
	t.Logf("%s (%+v)", got.Text, s)
}
