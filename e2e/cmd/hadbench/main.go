// hadbench measures a real two-node cluster on the namespace test bed:
// failover time (node A powered off → first reply at the VIP from node B,
// as the client sees it) over several runs for each timer profile, and the
// idle CPU and memory of one node's had processes. It prints a table.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
)

// profiles are the timer settings measured. "default" is what ships.
var profiles = []struct{ name, timers string }{
	{"default", ""},
	{"fast", `interval = "10ms"
warntime = "20ms"
deadtime = "40ms"
initdead = "2s"
ack_timeout = "20ms"
retransmit = "5ms"`},
}

func main() {
	runs := flag.Int("runs", 20, "failovers per profile")
	idle := flag.Duration("idle", 20*time.Second, "how long to sample idle CPU")
	only := flag.String("profile", "", "measure only this timer profile (and no agent profile)")
	agentRuns := flag.Int("agent-runs", 10, "service failures per agent profile")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "hadbench: needs root (network namespaces)")
		os.Exit(1)
	}
	bin, err := cluster.BinDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hadbench:", err)
		os.Exit(1)
	}
	fmt.Printf("had failover benchmark: %d power-offs per profile, %s\n\n", *runs, time.Now().Format(time.RFC3339))
	fmt.Printf("%-8s %5s %9s %9s %9s %9s\n", "profile", "runs", "min", "median", "p95", "max")
	var idleDone bool
	for _, pr := range profiles {
		if *only != "" && pr.name != *only {
			continue
		}
		times, cpu, rss, err := measure(bin, pr.timers, *runs, !idleDone, *idle)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hadbench: profile %s: %v\n", pr.name, err)
			os.Exit(1)
		}
		row(pr.name, times)
		if !idleDone {
			idleDone = true
			defer fmt.Printf("\nidle cost of node A's had processes (%s timers, %v): %.3f%% of one core, %.1f MiB RSS in all\n", pr.name, *idle, cpu, rss)
		}
	}
	if *only != "" {
		return
	}
	fmt.Printf("\nagent to handover: service killed on A → first reply from B (%d runs each)\n", *agentRuns)
	for _, ap := range agentProfiles {
		times, err := measureAgent(bin, ap.agents, *agentRuns)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hadbench: agent profile %s: %v\n", ap.name, err)
			os.Exit(1)
		}
		row(ap.name, times)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }

func row(name string, times []time.Duration) {
	slices.Sort(times)
	fmt.Printf("%-8s %5d %9s %9s %9s %9s\n", name, len(times), ms(times[0]), ms(times[len(times)/2]),
		ms(times[(len(times)*95+99)/100-1]), ms(times[len(times)-1]))
}

// agentProfiles measure agent-to-handover: the service is killed on the
// active node, its critical agent reports ERROR, the peer takes over.
var agentProfiles = []struct{ name, agents string }{
	{"tcp-1s", `[[agent]]
name = "web"
kind = "tcp"
address = "127.0.0.1:8080"
critical = true`},
	{"nagios", `[[agent]]
name = "web"
kind = "exec"
command = ["/usr/lib/nagios/plugins/check_tcp", "-H", "127.0.0.1", "-p", "8080"]
critical = true
interval = "200ms"
timeout = "200ms"`},
}

// measureAgent kills the service on A runs times and measures until the
// client is served by B; the operator's restart of the service on A then
// fails it back.
func measureAgent(bin, agentsTOML string, runs int) ([]time.Duration, error) {
	bed, err := testbed.Create(testbed.Options{})
	if err != nil {
		return nil, err
	}
	defer bed.Close()
	c, err := cluster.New(bed, bin, cluster.Options{Agents: agentsTOML})
	if err != nil {
		return nil, err
	}
	for _, n := range cluster.Nodes {
		if err := c.Start(n); err != nil {
			return nil, err
		}
	}
	p, err := bed.Probe(netip.AddrPortFrom(c.VIP(1), cluster.ServicePort))
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	var times []time.Duration
	for i := 0; i < runs; i++ {
		if _, err := c.WaitStatus("A", 30*time.Second, "A serving, agent OK", func(s console.Status) bool {
			return s.Pair == "(N,N)" && s.Node.Held == "g1" && len(s.Agents) > 0 && s.Agents[0].Value == "OK"
		}); err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second)))) // a random phase of the agent's interval
		b, err := os.ReadFile(filepath.Join(bed.RunDir("A"), "echod-g1.pid"))
		if err != nil {
			return nil, err
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		killed := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return nil, err
		}
		r, err := p.FirstReplyFrom("B", killed, 20*time.Second)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
		times = append(times, r.Received.Sub(killed))
		if out, err := bed.Exec("A", c.ServiceScript("A", 1), "start"); err != nil {
			return nil, fmt.Errorf("restart the service: %w: %s", err, out)
		}
		if _, err := p.FirstReplyFrom("A", r.Received, 30*time.Second); err != nil {
			return nil, fmt.Errorf("run %d failback: %w", i, err)
		}
	}
	return times, nil
}

// measure runs the failovers of one profile on a fresh bed.
func measure(bin, timers string, runs int, sampleIdle bool, idle time.Duration) (times []time.Duration, cpu, rss float64, err error) {
	bed, err := testbed.Create(testbed.Options{})
	if err != nil {
		return nil, 0, 0, err
	}
	defer bed.Close()
	c, err := cluster.New(bed, bin, cluster.Options{Timers: timers})
	if err != nil {
		return nil, 0, 0, err
	}
	for _, n := range cluster.Nodes {
		if err := c.Start(n); err != nil {
			return nil, 0, 0, err
		}
	}
	p, err := bed.Probe(netip.AddrPortFrom(c.VIP(1), cluster.ServicePort))
	if err != nil {
		return nil, 0, 0, err
	}
	defer p.Stop()
	settled := func() error {
		if _, err := p.FirstReplyFrom("A", time.Time{}, 30*time.Second); err != nil {
			return err
		}
		for _, n := range cluster.Nodes {
			if _, err := c.WaitStatus(n, 30*time.Second, "pair (N,N)", func(s console.Status) bool { return s.Pair == "(N,N)" }); err != nil {
				return err
			}
		}
		return nil
	}
	if err := settled(); err != nil {
		return nil, 0, 0, err
	}
	if sampleIdle {
		if cpu, rss, err = idleCost(c, idle); err != nil {
			return nil, 0, 0, err
		}
	}
	for i := 0; i < runs; i++ {
		// A settled pair has just sent a heartbeat (a state change sends
		// one at once): power off at a random phase of the heartbeat, as a
		// real failure would, not right after one.
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
		off := time.Now()
		if err := bed.PowerOff("A"); err != nil {
			return nil, 0, 0, err
		}
		r, err := p.FirstReplyFrom("B", off, 10*time.Second)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("run %d: %w", i, err)
		}
		times = append(times, r.Received.Sub(off))
		if err := bed.PowerOn("A"); err != nil {
			return nil, 0, 0, err
		}
		on := time.Now()
		if err := c.Start("A"); err != nil {
			return nil, 0, 0, err
		}
		if _, err := p.FirstReplyFrom("A", on, 30*time.Second); err != nil {
			return nil, 0, 0, fmt.Errorf("run %d failback: %w", i, err)
		}
		if err := settled(); err != nil {
			return nil, 0, 0, fmt.Errorf("run %d: %w", i, err)
		}
	}
	return times, cpu, rss, nil
}

// idleCost samples the CPU time and RSS of node A's had processes over d.
// CPU time is utime+stime of /proc/PID/stat, which counts every thread
// (schedstat is per thread), in clock ticks of 10 ms.
func idleCost(c *cluster.Cluster, d time.Duration) (cpuPercent, rssMiB float64, err error) {
	st, err := c.Status("A")
	if err != nil {
		return 0, 0, err
	}
	var pids []int
	for _, dm := range st.Daemons {
		pids = append(pids, int(dm.PID))
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	cpuNow := func() (time.Duration, error) {
		var sum time.Duration
		for _, pid := range pids {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if err != nil {
				return 0, err
			}
			f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
			for _, i := range []int{14 - 3, 15 - 3} { // utime, stime
				v, err := strconv.ParseInt(f[i], 10, 64)
				if err != nil {
					return 0, err
				}
				sum += time.Duration(v) * tick
			}
		}
		return sum, nil
	}
	before, err := cpuNow()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	time.Sleep(d)
	after, err := cpuNow()
	if err != nil {
		return 0, 0, err
	}
	cpuPercent = float64(after-before) / float64(time.Since(start)) * 100
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			return 0, 0, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				rssMiB += kb / 1024
			}
		}
	}
	return cpuPercent, rssMiB, nil
}
