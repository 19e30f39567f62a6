package agents

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// Stats are the statistics agent's figures (seed 002's per-node
// performance monitoring), as the console shows them. Rates are per
// second over Window, the time between the agent's last two samples.
type Stats struct {
	Valid          bool // the result is a stats agent's (its marker word is there)
	CPUPercent     float64
	MemPercent     float64
	NetPacketsIn   float64 // per second, every interface but loopback
	NetPacketsOut  float64
	DiskReads      float64 // per second, every whole physical disk
	DiskWrites     float64
	NetBytesIn     float64 // bytes per second
	NetBytesOut    float64
	DiskReadBytes  float64
	DiskWriteBytes float64
	Load1          float64 // load average over one minute
	Window         time.Duration
}

// The stats agent's Metrics, word by word. The order is stable (append
// only): the console of the peer may be a version behind. Words marked
// ×100 hold the figure times 100, rounded (fixed point, two decimals).
//
//	0  CPU busy %                         ×100
//	1  memory used %                      ×100
//	2  network packets in per second      ×100
//	3  network packets out per second     ×100
//	4  disk reads per second              ×100
//	5  disk writes per second             ×100
//	6  network bytes in per second
//	7  network bytes out per second
//	8  disk bytes read per second
//	9  disk bytes written per second
//	10 load average, 1 minute             ×100
//	11 StatsMarker<<32 | window in ms
const (
	StatsCPU = iota
	StatsMem
	StatsNetPacketsIn
	StatsNetPacketsOut
	StatsDiskReads
	StatsDiskWrites
	StatsNetBytesIn
	StatsNetBytesOut
	StatsDiskReadBytes
	StatsDiskWriteBytes
	StatsLoad1
	StatsMarkWord
)

// StatsMarker is "STAT": the high half of word 11 tells a stats agent's
// result from any other agent's.
const StatsMarker = 0x53544154

// Metrics encodes s as a stats agent's metric words.
func (s Stats) Metrics() [slots.MetricWords]uint64 {
	var m [slots.MetricWords]uint64
	fix := func(f, scale float64) uint64 {
		f = math.Round(f * scale)
		switch {
		case !(f > 0): // also NaN
			return 0
		case f >= math.MaxUint64:
			return math.MaxUint64
		}
		return uint64(f)
	}
	m[StatsCPU], m[StatsMem] = fix(s.CPUPercent, 100), fix(s.MemPercent, 100)
	m[StatsNetPacketsIn], m[StatsNetPacketsOut] = fix(s.NetPacketsIn, 100), fix(s.NetPacketsOut, 100)
	m[StatsDiskReads], m[StatsDiskWrites] = fix(s.DiskReads, 100), fix(s.DiskWrites, 100)
	m[StatsNetBytesIn], m[StatsNetBytesOut] = fix(s.NetBytesIn, 1), fix(s.NetBytesOut, 1)
	m[StatsDiskReadBytes], m[StatsDiskWriteBytes] = fix(s.DiskReadBytes, 1), fix(s.DiskWriteBytes, 1)
	m[StatsLoad1] = fix(s.Load1, 100)
	m[StatsMarkWord] = StatsMarker<<32 | min(uint64(max(s.Window.Milliseconds(), 0)), math.MaxUint32)
	return m
}

// ParseStats decodes a stats agent's result. Valid is false (and the rest
// zero) when the result is not one.
func ParseStats(r slots.AgentResult) Stats {
	m := r.Metrics
	if m[StatsMarkWord]>>32 != StatsMarker {
		return Stats{}
	}
	f := func(w uint64, scale float64) float64 { return float64(w) / scale }
	return Stats{
		Valid:      true,
		CPUPercent: f(m[StatsCPU], 100), MemPercent: f(m[StatsMem], 100),
		NetPacketsIn: f(m[StatsNetPacketsIn], 100), NetPacketsOut: f(m[StatsNetPacketsOut], 100),
		DiskReads: f(m[StatsDiskReads], 100), DiskWrites: f(m[StatsDiskWrites], 100),
		NetBytesIn: f(m[StatsNetBytesIn], 1), NetBytesOut: f(m[StatsNetBytesOut], 1),
		DiskReadBytes: f(m[StatsDiskReadBytes], 1), DiskWriteBytes: f(m[StatsDiskWriteBytes], 1),
		Load1:  f(m[StatsLoad1], 100),
		Window: time.Duration(m[StatsMarkWord]&math.MaxUint32) * time.Millisecond,
	}
}

// Summary is the short text the stats agent writes.
func (s Stats) Summary() string {
	return fmt.Sprintf("cpu %.1f%% mem %.1f%% net %.0f/%.0f pkt/s disk %.0f/%.0f io/s load %.2f",
		s.CPUPercent, s.MemPercent, s.NetPacketsIn, s.NetPacketsOut, s.DiskReads, s.DiskWrites, s.Load1)
}

// sample is one reading of the machine's counters.
type sample struct {
	at                           time.Time
	cpu                          cpu.TimesStat
	mem                          float64 // used %, not a counter
	pktIn, pktOut, bIn, bOut     uint64
	reads, writes, rBytes, wByte uint64
	load1                        float64
}

// statsFrom computes the figures between two samples.
func statsFrom(a, b sample) Stats {
	secs := b.at.Sub(a.at).Seconds()
	rate := func(x, y uint64) float64 {
		if secs <= 0 || y < x { // a counter reset or an interface gone
			return 0
		}
		return float64(y-x) / secs
	}
	return Stats{
		Valid:      true,
		CPUPercent: busyPercent(a.cpu, b.cpu), MemPercent: b.mem,
		NetPacketsIn: rate(a.pktIn, b.pktIn), NetPacketsOut: rate(a.pktOut, b.pktOut),
		DiskReads: rate(a.reads, b.reads), DiskWrites: rate(a.writes, b.writes),
		NetBytesIn: rate(a.bIn, b.bIn), NetBytesOut: rate(a.bOut, b.bOut),
		DiskReadBytes: rate(a.rBytes, b.rBytes), DiskWriteBytes: rate(a.wByte, b.wByte),
		Load1:  b.load1,
		Window: b.at.Sub(a.at),
	}
}

// statsCheck: the statistics agent. It reports OK with the figures in
// Metrics and a summary in Text; only when the counters cannot be read
// does it report WARNING (with no figures), so that the console does not
// show a failed reading as zeros. It never reports ERROR.
type statsCheck struct {
	read func(ctx context.Context) (sample, error)
	prev *sample
}

func newStats() *statsCheck {
	h := &hostCounters{}
	return &statsCheck{read: h.sample}
}

func (c *statsCheck) Check(ctx context.Context) Result {
	cur, err := c.read(ctx)
	if err != nil {
		return warnf("read statistics: %v", err)
	}
	if c.prev == nil {
		first := cur
		c.prev = &first
		if !sleepCtx(ctx, firstWait(ctx)) {
			return warnf("%v", ctx.Err())
		}
		if cur, err = c.read(ctx); err != nil {
			return warnf("read statistics: %v", err)
		}
	}
	s := statsFrom(*c.prev, cur)
	c.prev = &cur
	return Result{Value: shm.OK, Text: s.Summary(), Metrics: s.Metrics()}
}

// hostCounters reads the machine's counters through gopsutil.
type hostCounters struct {
	disks   []string // whole physical disks
	disksAt time.Time
}

// disksEvery is how often the list of disks is read again (hot plug).
const disksEvery = time.Minute

func (h *hostCounters) sample(ctx context.Context) (sample, error) {
	s := sample{at: time.Now()}
	var err error
	if s.cpu, err = cpuTotal(ctx); err != nil {
		return s, fmt.Errorf("cpu: %w", err)
	}
	m, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return s, fmt.Errorf("memory: %w", err)
	}
	s.mem = m.UsedPercent
	nics, err := net.IOCountersWithContext(ctx, true)
	if err != nil {
		return s, fmt.Errorf("network: %w", err)
	}
	for _, n := range nics {
		if n.Name == "lo" {
			continue
		}
		s.pktIn, s.pktOut, s.bIn, s.bOut = s.pktIn+n.PacketsRecv, s.pktOut+n.PacketsSent, s.bIn+n.BytesRecv, s.bOut+n.BytesSent
	}
	if time.Since(h.disksAt) > disksEvery {
		h.disks, h.disksAt = physicalDisks("/sys/block"), time.Now()
	}
	if len(h.disks) > 0 {
		names := append([]string(nil), h.disks...) // IOCounters rewrites its argument
		ds, err := disk.IOCountersWithContext(ctx, names...)
		if err != nil {
			return s, fmt.Errorf("disks: %w", err)
		}
		for _, d := range ds {
			s.reads, s.writes, s.rBytes, s.wByte = s.reads+d.ReadCount, s.writes+d.WriteCount, s.rBytes+d.ReadBytes, s.wByte+d.WriteBytes
		}
	}
	if l, err := load.AvgWithContext(ctx); err == nil {
		s.load1 = l.Load1
	}
	return s, nil
}

// physicalDisks lists the whole disks backed by a device (sda, vda,
// nvme0n1), leaving out partitions (not in /sys/block), and loop, ram,
// device-mapper and md devices (no "device" link), whose I/O is already
// counted on the disks beneath them.
func physicalDisks(sysBlock string) []string {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(sysBlock, e.Name(), "device")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}
