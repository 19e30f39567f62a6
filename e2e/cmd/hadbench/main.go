// hadbench measures a real two-node cluster on the namespace test bed and
// prints one table per part:
//
//  1. failover: node A powered off → B detects (OVERTIME), enters T, adds
//     the VIP, the client sees the first gratuitous ARP and the first
//     reply, over several runs for each timer profile;
//  2. kill -9 of each of A's processes → its replacement writing its slot,
//     and the client's longest gap meanwhile;
//  3. idle CPU and RSS of each of A's processes, beside a yardstick that
//     only wakes (this machine's price of a wake-up), and the heartbeat
//     traffic on the wire (A's bridge port, the serial line) against the
//     computed figure;
//  4. agent to handover (a service killed on A → served by B);
//
// and, with -stress, instead of those: the default cluster for a while
// with stress-ng saturating the CPUs, counting false failovers, late
// heartbeats, the largest gaps and the daemons' own scheduling stalls.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
)

func main() {
	runs := flag.Int("runs", 20, "failover: power-offs per timer profile")
	only := flag.String("profile", "", "failover: measure only this timer profile")
	kills := flag.Int("kills", 10, "kill: kill -9 runs per process")
	idle := flag.Duration("idle", 20*time.Second, "idle: how long to sample CPU and heartbeat traffic")
	agentRuns := flag.Int("agent-runs", 10, "agent: service failures per agent profile")
	threads := flag.Bool("threads", false, "idle: also print each thread's CPU and wake-ups")
	parts := flag.String("parts", "failover,kill,idle,agent", "the parts to run, comma-separated")
	stress := flag.Duration("stress", 0, "instead of the parts: run the default cluster this long under stress-ng and count false failovers")
	stressArgs := flag.String("stress-args", "--cpu 2", "stress-ng's load arguments for -stress (empty: no load, a baseline)")
	flag.StringVar(&keepDir, "keep", "", "keep each bed's directory (logs, configurations) under this directory")
	yardstick := flag.Int("yardstick", 0, "internal: be the idle part's yardstick, waking this many times a second")
	rt := flag.String("realtime", "", "body of both nodes' [realtime] table, e.g. 'policy = \"off\"' (empty: the shipped defaults)")
	flag.Parse()
	if *yardstick > 0 {
		runYardstick(*yardstick)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "hadbench: needs root (network namespaces)")
		os.Exit(1)
	}
	bin, err := cluster.BinDir()
	if err != nil {
		fail("", err)
	}
	fmt.Printf("hadbench %s: %d CPUs, load average %s", time.Now().Format(time.RFC3339), runtime.NumCPU(), loadavg())
	if *rt != "" {
		fmt.Printf(", [realtime] %s", strings.ReplaceAll(*rt, "\n", "; "))
	}
	fmt.Println()
	if *stress > 0 {
		fmt.Printf("\n4. stress: default timers for %v under `stress-ng %s`\n", *stress, *stressArgs)
		res, err := measureStress(bin, *rt, *stressArgs, *stress, func(s string) { fmt.Fprintln(os.Stderr, "hadbench: stress", s) })
		if err != nil {
			fail("stress", err)
		}
		printStress(res)
		return
	}
	want := strings.Split(*parts, ",")
	if slices.Contains(want, "failover") {
		fmt.Printf("\n1. failover: node A powered off at a random phase → each step of B's takeover, ms after the power cut (%d runs per profile)\n", *runs)
		tw := table()
		fmt.Fprintln(tw, "profile\tstep\tmin\tmedian\tp95\tmax\tunseen\t")
		for _, pr := range profiles {
			if *only != "" && pr.name != *only {
				continue
			}
			res, err := measureFailover(bin, pr, *rt, *runs)
			if err != nil {
				fail("failover "+pr.name, err)
			}
			for i, step := range failoverSteps {
				var d []time.Duration
				for _, r := range res {
					d = append(d, r.steps()[i])
				}
				name := pr.name
				if i > 0 {
					name = ""
				}
				s := summarize(d)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name, step, ms(s.min), ms(s.med), ms(s.p95), ms(s.max), s.missing)
			}
		}
		tw.Flush()
	}
	if slices.Contains(want, "kill") {
		fmt.Printf("\n2. kill -9 of each of A's processes → the replacement writes its slot (%d runs each); the client at the VIP meanwhile\n", *kills)
		res, baseline, err := measureKills(bin, *rt, *kills)
		if err != nil {
			fail("kill", err)
		}
		tw := table()
		fmt.Fprintln(tw, "process\tmin\tmedian\tmax\tclient's longest gap (max)\treplies from B\tB took over\t")
		for _, r := range res {
			b, g := summarize(r.back), summarize(r.gap)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", r.target, ms(b.min), ms(b.med), ms(b.max), ms(g.max), r.fromB, r.toT)
			if r.timeout > 0 {
				fmt.Fprintf(tw, "\t%d runs: no replacement within %v\t\t\t\t\t\t\n", r.timeout, killWait)
			}
		}
		tw.Flush()
		fmt.Printf("the client's longest gap over %v without a kill: %s\n", 2*killSettle, ms(baseline))
	}
	if slices.Contains(want, "idle") {
		fmt.Printf("\n3. idle cost of node A at the default settings (%v sample, client quiet)\n", *idle)
		res, err := measureIdle(bin, *rt, *idle)
		if err != nil {
			fail("idle", err)
		}
		printIdle(res, *threads)
	}
	if slices.Contains(want, "agent") {
		fmt.Printf("\n5. agent to handover: service killed on A → first reply from B (%d runs each)\n", *agentRuns)
		tw := table()
		fmt.Fprintln(tw, "agent\tmin\tmedian\tp95\tmax\t")
		for _, ap := range agentProfiles {
			times, err := measureAgent(bin, ap.agents, *agentRuns)
			if err != nil {
				fail("agent "+ap.name, err)
			}
			s := summarize(times)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", ap.name, ms(s.min), ms(s.med), ms(s.p95), ms(s.max))
		}
		tw.Flush()
	}
}

// keepDir, when set, keeps the beds' directories (-keep).
var keepDir string

// newBed creates a test bed, in a fresh directory under keepDir when set.
func newBed() (*testbed.Bed, error) {
	opts := testbed.Options{}
	if keepDir != "" {
		if err := os.MkdirAll(keepDir, 0o755); err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp(keepDir, "bed-")
		if err != nil {
			return nil, err
		}
		opts.Dir = dir
		fmt.Fprintln(os.Stderr, "hadbench: bed in", dir)
	}
	return testbed.Create(opts)
}

func fail(part string, err error) {
	if part != "" {
		part += ": "
	}
	fmt.Fprintf(os.Stderr, "hadbench: %s%v\n", part, err)
	os.Exit(1)
}

func table() *tabwriter.Writer {
	return tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// Heartbeat sizes on the wire, for the computed figure: one frame per
// interval per path; a UDP datagram adds UDP (8), IPv4 (20) and Ethernet
// (14) headers; the serial framing adds its own bytes.
const (
	udpOverhead = 8 + 20 + 14
	// serialOverhead: sync (2), length (2) and CRC-32 (4) around the frame,
	// minus nothing; see comm/serial.go. Checked against the measured figure.
	serialOverhead = 93 - wire.Size
)

func printIdle(res idleResult, threads bool) {
	tw := table()
	fmt.Fprintln(tw, "process\tCPU % of one core\tRSS MiB\tlocked MiB\t")
	var cpu, rss, lck, cpuCore, rssCore float64
	for _, p := range res.procs {
		fmt.Fprintf(tw, "%s\t%.3f\t%.1f\t%.1f\t\n", p.role, p.cpu, p.rssMiB, p.locked)
		cpu, rss, lck = cpu+p.cpu, rss+p.rssMiB, lck+p.locked
		if !isAgent(p) {
			cpuCore, rssCore = cpuCore+p.cpu, rssCore+p.rssMiB
		}
	}
	fmt.Fprintf(tw, "had1+had2+sender+receiver+admin\t%.3f\t%.1f\t\t\n", cpuCore, rssCore)
	fmt.Fprintf(tw, "all, with the agent\t%.3f\t%.1f\t%.1f\t\n", cpu, rss, lck)
	tw.Flush()
	wakes, price := nodeWakeups(res.procs), yardstickPrice(res.yardstick)
	fmt.Printf("the yardstick (a process that only wakes, %d times a second, as the daemons do): %.3f %% of one core, %v per wake-up;\n",
		yardstickHz, res.yardstick.cpu, price.Round(100*time.Nanosecond))
	fmt.Printf("node A's threads woke %.1f times a second: at that price %.3f %% of one core, whatever the work\n",
		wakes, wakes*price.Seconds()*100)
	if threads {
		fmt.Println("\nby thread (wake-ups: times put on a CPU, per second)")
		tw = table()
		fmt.Fprintln(tw, "process\tthread\tpolicy\tCPU % of one core\twake-ups/s\tCPU per wake-up\t")
		for _, p := range res.procs {
			for _, t := range p.threads {
				if t.wakeups == 0 {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.1f\t%v\t\n", p.role, t.name, t.policy, t.cpu, t.wakeups, t.perWake.Round(100*time.Nanosecond))
			}
		}
		tw.Flush()
	}

	interval := config.DefaultTimers().Interval
	perS := float64(time.Second) / float64(interval)
	udp := float64(wire.Size+udpOverhead) * perS
	serial := float64(wire.Size+serialOverhead) * perS
	w := res.wire
	fmt.Printf("\nheartbeat traffic at the default interval (%v), measured over %v with the client quiet\n", interval, res.sample.Round(time.Second))
	tw = table()
	fmt.Fprintln(tw, "path\tmeasured B/s\tframes/s\tcomputed B/s\t")
	fmt.Fprintf(tw, "LAN, A → switch (A's bridge port)\t%.0f\t%.1f\t%.0f\t\n", w.fromA, w.pktFromA, udp)
	fmt.Fprintf(tw, "LAN, switch → A\t%.0f\t%.1f\t%.0f\t\n", w.toA, w.pktToA, udp)
	fmt.Fprintf(tw, "serial, each direction (half of socat's reads)\t%.0f\t\t%.0f\t\n", w.serial/2, serial)
	tw.Flush()
	fmt.Printf("computed: %d-byte frame, %d B per UDP datagram on Ethernet (%d with preamble, FCS and gap on a real wire), %d B per serial frame; %.0f frames/s per path and direction\n",
		wire.Size, wire.Size+udpOverhead, wire.Size+udpOverhead+24, wire.Size+serialOverhead, perS)
}

func printStress(r stressResult) {
	fmt.Printf("ran %v; CPUs busy %.1f%%; load average at the end %s\n", r.took.Round(time.Second), r.busy, r.load)
	tw := table()
	fmt.Fprintln(tw, "figure\tnode A\tnode B\t")
	fmt.Fprintf(tw, "takeovers by B (false failovers)\t\t%d\t\n", r.takeovers)
	fmt.Fprintf(tw, "client replies from B\t\t%d\t\n", r.fromB)
	fmt.Fprintf(tw, "OVERTIMEs declared by the receiver\t%d\t%d\t\n", r.overtime[0], r.overtime[1])
	fmt.Fprintf(tw, "dead time reached only by the receiver's own stall (no OVERTIME)\t%d\t%d\t\n", r.deferred[0], r.deferred[1])
	gap := func(d time.Duration) string {
		if d == 0 {
			return "< warntime"
		}
		return ms(d)
	}
	fmt.Fprintf(tw, "longest silence of the peer on every path\t%s\t%s\t\n", gap(r.peerGap[0]), gap(r.peerGap[1]))
	for i := range r.after[0].paths {
		var late, downs, gaps [2]string
		for n := range 2 {
			if i >= len(r.after[n].paths) || i >= len(r.before[n].paths) {
				continue
			}
			a, b := r.after[n].paths[i], r.before[n].paths[i]
			late[n], downs[n] = fmt.Sprint(a.late-b.late), fmt.Sprint(a.downs-b.downs)
			gaps[n] = ms(a.maxGap)
			if a.maxGap == b.maxGap {
				gaps[n] += " (before the load)"
			}
		}
		name := r.after[0].paths[i].name
		fmt.Fprintf(tw, "path %s: late heartbeats (gap > warntime)\t%s\t%s\t\n", name, late[0], late[1])
		fmt.Fprintf(tw, "path %s: went down (silent for the dead time)\t%s\t%s\t\n", name, downs[0], downs[1])
		fmt.Fprintf(tw, "path %s: largest gap while up\t%s\t%s\t\n", name, gaps[0], gaps[1])
	}
	for _, s := range []struct {
		name string
		get  func(nodeCounters) stallCount
	}{{"receiver", func(c nodeCounters) stallCount { return c.recvLag }}, {"sender", func(c nodeCounters) stallCount { return c.sendLag }}} {
		var v [2]string
		for n := range 2 {
			a, b := s.get(r.after[n]), s.get(r.before[n])
			v[n] = fmt.Sprintf("%d (longest %s)", a.n-b.n, ms(a.max))
		}
		fmt.Fprintf(tw, "%s's own scheduling stalls\t%s\t%s\t\n", s.name, v[0], v[1])
	}
	fmt.Fprintf(tw, "restarts of had2/sender/receiver\t%d\t%d\t\n", r.after[0].restarts-r.before[0].restarts, r.after[1].restarts-r.before[1].restarts)
	fmt.Fprintf(tw, "client: longest gap at the VIP / requests unanswered\t%s / %.2f%%\t\t\n", ms(r.clientGap), r.clientLost)
	tw.Flush()
}
