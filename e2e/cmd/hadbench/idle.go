package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hadcluster/had/e2e/cluster"
)

// procCost is one process's share of the idle figures.
type procCost struct {
	role   string
	pid    int
	cpu    float64 // percent of one core over the sample
	rssMiB float64 // at the end of the sample
	locked float64 // MiB locked in memory (VmLck), at the end
	// threads is the breakdown by thread, busiest first.
	threads []threadCost
}

// threadCost is one thread's share of its process's idle figure.
type threadCost struct {
	name    string  // comm, and "main" for the thread group leader
	cpu     float64 // percent of one core
	wakeups float64 // times it was put on a CPU, per second
	perWake time.Duration
	policy  string // the scheduling policy, "RR" or "OTHER"
}

// threadSample is one reading of a thread: its schedstat (time on a CPU
// and the number of times it was run), name and scheduling policy.
type threadSample struct {
	name, policy string
	cpu          time.Duration
	runs         uint64
}

// wireCost is the heartbeat traffic of the sample, per second.
type wireCost struct {
	fromA, toA       float64 // bytes/s on A's bridge port (A → switch, switch → A)
	pktFromA, pktToA float64 // frames/s
	serial           float64 // bytes/s on the serial line, both directions together
}

// idleResult is part 3.
type idleResult struct {
	procs     []procCost
	yardstick procCost // sampled beside the node, not part of it
	wire      wireCost
	sample    time.Duration
}

// measureIdle starts a quiet cluster with the stats agent and samples, over
// d with the client silent, node A's processes' CPU time and RSS and the
// heartbeat traffic on A's bridge port and on the serial line.
func measureIdle(bin, rt string, d time.Duration) (idleResult, error) {
	bed, err := newBed()
	if err != nil {
		return idleResult{}, err
	}
	defer bed.Close()
	c, err := cluster.New(bed, bin, cluster.Options{Agents: statsAgent, Realtime: rt})
	if err != nil {
		return idleResult{}, err
	}
	p, err := startCluster(c)
	if err != nil {
		return idleResult{}, err
	}
	p.Stop() // the client is quiet from here on
	st, err := c.Status("A")
	if err != nil {
		return idleResult{}, err
	}
	var procs []procCost
	for _, dm := range st.Daemons {
		procs = append(procs, procCost{role: dm.Role, pid: int(dm.PID)})
	}
	for _, a := range st.Agents {
		procs = append(procs, procCost{role: "agent (" + a.Name + ")", pid: int(a.PID)})
	}
	ys, err := startYardstick()
	if err != nil {
		return idleResult{}, err
	}
	defer stopYardstick(ys)
	procs = append(procs, procCost{role: "yardstick", pid: ys.Process.Pid}) // the last: split off below
	// Let the start-up settle (the first seconds run the tables, the
	// client's ARP, …) before the sample.
	time.Sleep(2 * time.Second)
	cpu0, err := threadTimes(procs)
	if err != nil {
		return idleResult{}, err
	}
	link0, err := bed.Counters("SW", "pA")
	if err != nil {
		return idleResult{}, err
	}
	serial0, err := bed.SerialBytes()
	if err != nil {
		return idleResult{}, err
	}
	start := time.Now()
	time.Sleep(d)
	cpu1, err := threadTimes(procs)
	if err != nil {
		return idleResult{}, err
	}
	link1, err := bed.Counters("SW", "pA")
	if err != nil {
		return idleResult{}, err
	}
	serial1, err := bed.SerialBytes()
	if err != nil {
		return idleResult{}, err
	}
	took := time.Since(start)
	res := idleResult{sample: took}
	perS := func(a, b uint64) float64 { return float64(b-a) / took.Seconds() }
	// pA is the switch's end: what it receives came from A.
	res.wire = wireCost{fromA: perS(link0.RxBytes, link1.RxBytes), toA: perS(link0.TxBytes, link1.TxBytes),
		pktFromA: perS(link0.RxPackets, link1.RxPackets), pktToA: perS(link0.TxPackets, link1.TxPackets),
		serial: perS(serial0, serial1)}
	for i := range procs {
		var total time.Duration
		procs[i].threads, total = threadCosts(procs[i].pid, cpu0[i], cpu1[i], took)
		procs[i].cpu = float64(total) / float64(took) * 100
		if procs[i].rssMiB, procs[i].locked, err = memory(procs[i].pid); err != nil {
			return idleResult{}, err
		}
	}
	res.procs, res.yardstick = procs[:len(procs)-1], procs[len(procs)-1]
	return res, nil
}

// threadTimes reads each process's threads' time on a CPU and number of
// runs from /proc/PID/task/TID/schedstat, in nanoseconds (utime and stime
// of /proc/PID/stat are sampled at the 100 Hz tick, too coarse and biased
// for daemons that run for microseconds at a time). A thread that exits
// during the sample takes its time with it; the daemons keep theirs.
func threadTimes(procs []procCost) ([]map[int]threadSample, error) {
	out := make([]map[int]threadSample, len(procs))
	for i, p := range procs {
		dir := "/proc/" + strconv.Itoa(p.pid) + "/task/"
		tasks, err := os.ReadDir(dir)
		if err != nil || len(tasks) == 0 {
			return nil, fmt.Errorf("read cpu time of %s: no threads (%v)", p.role, err)
		}
		out[i] = map[int]threadSample{}
		for _, t := range tasks {
			tid, _ := strconv.Atoi(t.Name())
			b, err := os.ReadFile(dir + t.Name() + "/schedstat")
			if err != nil {
				continue // the thread just exited
			}
			cpu, runs, err := parseSchedstat(b)
			if err != nil {
				return nil, fmt.Errorf("read cpu time of %s: %w", p.role, err)
			}
			name, _ := os.ReadFile(dir + t.Name() + "/comm")
			out[i][tid] = threadSample{name: strings.TrimSpace(string(name)), policy: policy(dir + t.Name()), cpu: cpu, runs: runs}
		}
	}
	return out, nil
}

// threadCosts is the difference of two readings of one process, busiest
// thread first; the total is the process's CPU time over the sample.
func threadCosts(pid int, before, after map[int]threadSample, took time.Duration) ([]threadCost, time.Duration) {
	var out []threadCost
	var total time.Duration
	for tid, a := range after {
		b := before[tid] // a thread born during the sample counts from zero
		cpu, runs := a.cpu-b.cpu, a.runs-b.runs
		total += cpu
		tc := threadCost{name: a.name, cpu: float64(cpu) / float64(took) * 100,
			wakeups: float64(runs) / took.Seconds(), policy: a.policy}
		if tid == pid {
			tc.name = "main"
		}
		if runs > 0 {
			tc.perWake = cpu / time.Duration(runs)
		}
		out = append(out, tc)
	}
	slices.SortFunc(out, func(x, y threadCost) int { return cmp.Compare(y.cpu, x.cpu) })
	return out, total
}

// policy is the scheduling policy of the thread at dir (/proc/PID/task/TID),
// from field 41 of its stat.
func policy(dir string) string {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return "?"
	}
	// The command name may hold spaces: count fields after its ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 39 {
		return "?"
	}
	switch f[38] {
	case "0":
		return "OTHER"
	case "2":
		return "RR"
	default:
		return "policy " + f[38]
	}
}

// parseSchedstat reads a schedstat line: the time spent on a CPU (ns) and
// the number of times the thread was run.
func parseSchedstat(b []byte) (time.Duration, uint64, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("parse schedstat %q: want 3 fields", b)
	}
	v, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse schedstat: %w", err)
	}
	runs, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse schedstat: %w", err)
	}
	return time.Duration(v), runs, nil
}

// memory reads a process's resident set (VmRSS) and how much of it is
// locked (Locked in smaps_rollup: resident pages of locked mappings; VmLck
// counts whole locked mappings, the address space Go reserves included),
// in MiB.
func memory(pid int) (rss, locked float64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read memory of %d: %w", pid, err)
	}
	rss, _ = statusKiB(b, "VmRSS")
	if b, err = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup"); err == nil {
		locked, _ = statusKiB(b, "Locked")
	}
	return rss / 1024, locked / 1024, nil
}

// statusKiB reads a "Name:   123 kB" line of /proc/PID/status or
// smaps_rollup.
func statusKiB(status []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == name+":" {
			v, err := strconv.ParseFloat(f[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}
