package torture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
)

// Options shape a trial.
type Options struct {
	Bin   string // the had binaries
	Dir   string // the trial's directory (logs, configuration); kept
	Steps int    // faults per trial
	Kinds []Kind // the faults drawn from
	// Log receives the trial's running account, a line at a time.
	Log func(format string, args ...any)
	// Plan, when set, is carried out instead of the seed's.
	Plan []Step
	// NoFencing leaves the fence device out: a partition is then a split
	// brain by construction (the campaign's check of its own monitors).
	NoFencing bool
}

// Report is what a trial found.
type Report struct {
	Seed     uint64
	Plan     []Step
	Failures []string // broken invariants; empty: the trial passed
	Steps    []StepReport
	// MaxOverlap is the longest time both nodes held the VIP with power,
	// as their netlink monitors saw it.
	MaxOverlap time.Duration
	DualARP    int             // ARP requests of the client answered by both nodes
	DualUDP    int             // client requests answered by both nodes
	Fences     []time.Duration // each fencing, as the fence device took it
	Inits      int             // had1 started by the init stand-in
	Took       time.Duration
}

// StepReport is one fault's outcome.
type StepReport struct {
	Step      Step
	Outage    time.Duration // the longest run of unanswered client requests
	Bound     time.Duration // what it was allowed
	Settled   time.Duration // from the fault's start to the cluster settled again
	Takeovers int           // times B took g1 during the step
}

// settleTimeout bounds the return to (N,N) with A serving after a fault
// is healed: a hang detection (2 s), a boot with initdead (3 s) and a
// failback fit in it many times.
const settleTimeout = 30 * time.Second

// Run carries out trial seed and judges it. An error means the trial could
// not be run (the bed could not be built), not that had failed it.
func Run(seed uint64, o Options) (*Report, error) {
	began := time.Now()
	rep := &Report{Seed: seed, Plan: o.Plan}
	if rep.Plan == nil {
		rep.Plan = Plan(seed, o.Steps, o.Kinds)
	}
	bed, err := testbed.Create(testbed.Options{Dir: o.Dir})
	if err != nil {
		return nil, err
	}
	defer bed.Close()
	c, err := cluster.New(bed, o.Bin, cluster.Options{Fencing: !o.NoFencing, Agents: "[[agent]]\nname = \"stats\"\nkind = \"stats\"\n"})
	if err != nil {
		return nil, err
	}
	timers := config.DefaultTimers()
	r := newRig(c, seed, o.Log)
	defer r.close()
	defer func() {
		if err := r.healLAN(); err != nil {
			o.Log("cleaning up: %v", err)
		}
	}()

	// The fence device and init play until the trial ends, and are gone
	// before the bed is.
	ctx, cancel := context.WithCancel(context.Background())
	var players sync.WaitGroup
	defer players.Wait()
	defer cancel()
	players.Add(2)
	go func() {
		defer players.Done()
		if err := c.ServeFencing(ctx, r.fence); err != nil {
			o.Log("fence device stopped: %v", err)
		}
	}()
	go func() {
		defer players.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.playInit()
			}
		}
	}()

	vip := c.VIP(1)
	mons := map[string]*addrMonitor{}
	for _, n := range cluster.Nodes {
		m, err := watchAddrs(bed, n, vip)
		if err != nil {
			return nil, err
		}
		defer m.Close()
		mons[n] = m
	}
	arp, err := watchARP(bed, vip)
	if err != nil {
		return nil, err
	}
	defer arp.Close()
	probe, err := bed.Probe(netip.AddrPortFrom(vip, cluster.ServicePort))
	if err != nil {
		return nil, err
	}
	defer probe.Stop()

	for _, n := range cluster.Nodes {
		if err := r.start(n); err != nil {
			return nil, err
		}
	}
	if _, err := settle(c, r, mons, probe, time.Now()); err != nil {
		rep.Failures = append(rep.Failures, "the cluster never settled at start: "+err.Error())
		return rep, nil
	}

	for i, s := range rep.Plan {
		o.Log("step %d: %v", i+1, s)
		time.Sleep(s.Wait)
		from := time.Now()
		takeovers := countTakeovers(c)
		if err := apply(r, c, mons, s); err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("step %d (%v): could not inject: %v", i+1, s, err))
			break
		}
		// Heal what is left: the nodes the fence device powered off boot.
		for _, n := range cluster.Nodes {
			if err := r.boot(n); err != nil {
				rep.Failures = append(rep.Failures, fmt.Sprintf("step %d: %v", i+1, err))
			}
		}
		took, err := settle(c, r, mons, probe, from)
		sr := StepReport{Step: s, Settled: took, Takeovers: countTakeovers(c) - takeovers}
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("step %d (%v): not back to (N,N) with A serving within %v: %v", i+1, s, settleTimeout, err))
		}
		var flapping Span
		if s.Kind == Restarts {
			flapping = Span{From: from, To: r.lastBoot(s.Node)}
		}
		sr.Outage, sr.Bound = judgeOutages(probe, r.powerEvents(), flapping, r.maxFence(), timers, from, time.Now())
		if sr.Outage > sr.Bound {
			rep.Failures = append(rep.Failures, fmt.Sprintf("step %d (%v): the client went unanswered for %v, more than %v", i+1, s, sr.Outage.Round(time.Millisecond), sr.Bound.Round(time.Millisecond)))
		}
		o.Log("  settled after %v; longest outage %v (bound %v); B took over %d times", took.Round(time.Millisecond),
			sr.Outage.Round(time.Millisecond), sr.Bound.Round(time.Millisecond), sr.Takeovers)
		rep.Steps = append(rep.Steps, sr)
		if err != nil {
			break
		}
	}

	end := time.Now()
	probe.Stop()
	var addrs []AddrEvent
	for _, n := range cluster.Nodes {
		addrs = append(addrs, mons[n].Events()...)
	}
	for _, s := range Overlaps(addrs, r.powerEvents(), end) {
		rep.MaxOverlap = max(rep.MaxOverlap, s.Len())
		if s.Len() > overlapWindow {
			rep.Failures = append(rep.Failures, fmt.Sprintf("both nodes held the VIP for %v from %s", s.Len().Round(time.Microsecond), s.From.Format("15:04:05.000")))
		}
	}
	if dual := DualARP(arp.Answers()); len(dual) > 0 {
		rep.DualARP = len(dual)
		rep.Failures = append(rep.Failures, fmt.Sprintf("both nodes answered %d of the client's ARP requests for the VIP", len(dual)))
	}
	if n := dualUDP(probe.Replies()); n > 0 {
		rep.DualUDP = n
		rep.Failures = append(rep.Failures, fmt.Sprintf("both nodes answered %d of the client's requests", n))
	}
	for _, n := range cluster.Nodes {
		if crash, err := crashed(bed.LogPath(n, "had1")); err != nil || crash != "" {
			rep.Failures = append(rep.Failures, fmt.Sprintf("node %s: a process crashed: %s %v", n, crash, err))
		}
	}
	r.mu.Lock()
	rep.Fences, rep.Inits = slices.Clone(r.fences), r.inits
	r.mu.Unlock()
	rep.Took = time.Since(began)
	return rep, nil
}

// overlapWindow is how long both nodes may seem to hold the VIP at once:
// not a transition window had needs (a handover releases before the peer
// adds, and a takeover after silence fences first), but the observation
// error of two netlink monitors whose events are stamped when a goroutine
// of this process gets them. The client's ARP check has no such error: any
// request both nodes answered fails the trial.
const overlapWindow = 20 * time.Millisecond

// apply injects step s and heals it.
func apply(r *rig, c *cluster.Cluster, mons map[string]*addrMonitor, s Step) error {
	switch s.Kind {
	case PowerOff:
		if err := r.powerOff(s.Node); err != nil {
			return err
		}
		time.Sleep(s.Hold)
		return r.boot(s.Node)
	case Kill:
		if r.isOff(s.Node) {
			return nil
		}
		ps, err := r.rolesOf(s.Node, s.Roles)
		if err != nil {
			return err
		}
		signal(ps, syscall.SIGKILL)
	case Stop:
		if r.isOff(s.Node) {
			return nil
		}
		ps, err := r.rolesOf(s.Node, s.Roles)
		if err != nil {
			return err
		}
		signal(ps, syscall.SIGSTOP)
		time.Sleep(s.Hold)
		signal(ps, syscall.SIGCONT)
	case CutLAN:
		return hold(c.Bed.CutUDP, c.Bed.RestoreUDP, s.Hold)
	case CutSerial:
		return hold(c.Bed.CutSerial, c.Bed.RestoreSerial, s.Hold)
	case CutBoth:
		cut := func() error { return errors.Join(c.Bed.CutUDP(), c.Bed.CutSerial()) }
		heal := func() error { return errors.Join(c.Bed.RestoreUDP(), c.Bed.RestoreSerial()) }
		return hold(cut, heal, s.Hold)
	case Lossy:
		imp := impairment{loss: s.Loss, dup: s.Dup, latency: s.Latency, jitter: s.Jitter}
		cut, heal := func() error { return r.impairLAN(imp) }, r.healLAN
		if s.Alone {
			cut = func() error { return errors.Join(c.Bed.CutSerial(), r.impairLAN(imp)) }
			heal = func() error { return errors.Join(r.healLAN(), c.Bed.RestoreSerial()) }
		}
		return hold(cut, heal, s.Hold)
	case ClockJump:
		return hold(func() error { return jumpClock(s.Jump) }, func() error { return jumpClock(-s.Jump) }, s.Hold)
	case BootTogether:
		if err := errors.Join(r.powerOff("A"), r.powerOff("B")); err != nil {
			return err
		}
		time.Sleep(s.Hold)
		errs := make(chan error, 2)
		for _, n := range cluster.Nodes {
			go func() { errs <- r.boot(n) }()
		}
		return errors.Join(<-errs, <-errs)
	case Restarts:
		for range s.Count {
			if err := r.powerOff(s.Node); err != nil {
				return err
			}
			time.Sleep(s.Hold / 4)
			if err := r.boot(s.Node); err != nil {
				return err
			}
			time.Sleep(s.Hold)
		}
	case DeleteVIP:
		for range s.Count {
			for _, n := range cluster.Nodes {
				if mons[n].Has() && !r.isOff(n) {
					// Another process deleting it: an operator, a network manager.
					_, _ = c.Bed.Exec(n, "ip", "addr", "del", c.VIP(1).String()+"/32", "dev", "eth0")
				}
			}
			time.Sleep(s.Hold)
		}
	case Starve:
		stop, err := starve(s.Hogs, s.Hold)
		if err != nil {
			return err
		}
		time.Sleep(s.Hold)
		return stop()
	}
	return nil
}

func hold(cut, heal func() error, d time.Duration) error {
	if err := cut(); err != nil {
		return errors.Join(err, heal())
	}
	time.Sleep(d)
	return heal()
}

// settle waits until both nodes are up and in (N,N) with A holding g1,
// every had process of both alive, the VIP on A only, and the client
// answered by A, and returns how long since from that took.
func settle(c *cluster.Cluster, r *rig, mons map[string]*addrMonitor, p *testbed.Prober, from time.Time) (time.Duration, error) {
	deadline := time.Now().Add(settleTimeout)
	check := time.Now()
	var why string
	for time.Now().Before(deadline) {
		why = unsettled(c, r, mons)
		if why == "" {
			if _, err := p.FirstReplyFrom("A", check, time.Second); err == nil {
				return time.Since(from), nil
			}
			why = "the client is not answered by A"
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(from), errors.New(why)
}

// unsettled says what is not as it should be at rest, or "".
func unsettled(c *cluster.Cluster, r *rig, mons map[string]*addrMonitor) string {
	want := map[string]string{"A": "g1", "B": "none"}
	for _, n := range cluster.Nodes {
		if r.isOff(n) {
			return n + " is powered off"
		}
		st, err := c.Status(n)
		if err != nil {
			return err.Error()
		}
		if st.Node.State != "N" || st.Node.Held != want[n] || st.Pair != "(N,N)" {
			return fmt.Sprintf("%s is %s holding %s, pair %s", n, st.Node.State, st.Node.Held, st.Pair)
		}
		if len(st.Agents) != 1 || st.Agents[0].Value == "none" {
			return fmt.Sprintf("%s's agent has no fresh result: %+v", n, st.Agents)
		}
		for _, role := range Roles {
			if d := cluster.Daemon(st, role); role != "agent" && !d.Alive {
				return fmt.Sprintf("%s's %s is not alive: %+v", n, role, d)
			}
			// Exactly one of each: a second had2 or sender is a bug too.
			if ps, err := r.pidsOf(n, role); err != nil || len(ps) != 1 {
				return fmt.Sprintf("%s runs %d processes of %s (%v)", n, len(ps), role, err)
			}
		}
	}
	if !mons["A"].Has() || mons["B"].Has() {
		return fmt.Sprintf("VIP on A %v, on B %v", mons["A"].Has(), mons["B"].Has())
	}
	return ""
}

// judgeOutages finds the client's outages in [from, to] and returns the
// one closest to (or furthest over) its bound, with the bound.
func judgeOutages(p *testbed.Prober, power []PowerEvent, flapping Span, fence time.Duration, t config.Timers, from, to time.Time) (longest, bound time.Duration) {
	answered := map[uint64]bool{}
	for _, r := range p.Replies() {
		answered[r.Seq] = true
	}
	return worstOutage(Within(Outages(p.SentTimes(), answered, 2), from, to), power, flapping, fence, t)
}

// lastBoot is when node last got power.
func (r *rig) lastBoot(node string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.power) - 1; i >= 0; i-- {
		if e := r.power[i]; e.Node == node && e.On {
			return e.At
		}
	}
	return time.Time{}
}

func (r *rig) powerEvents() []PowerEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.power)
}

func (r *rig) maxFence() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var m time.Duration
	for _, f := range r.fences {
		m = max(m, f)
	}
	return m
}

// dualUDP counts the client's requests that both nodes answered.
func dualUDP(replies []testbed.Reply) int {
	by := map[uint64]string{}
	n := 0
	for _, r := range replies {
		if prev, ok := by[r.Seq]; ok && prev != r.Node {
			n++
		}
		by[r.Seq] = r.Node
	}
	return n
}

// countTakeovers counts B's takeovers of g1 so far, from its log.
func countTakeovers(c *cluster.Cluster) int {
	b, err := os.ReadFile(c.Bed.LogPath("B", "had1"))
	if err != nil {
		return 0
	}
	return strings.Count(string(b), `"to":"T"`)
}

// crashPattern matches what the Go runtime prints when a program dies of
// a panic, a fatal error or a signal it did not handle.
var crashPattern = regexp.MustCompile(`^(panic: |fatal error: |SIGSEGV|SIGBUS|unexpected fault address)`)

// crashed returns the first crash line in a node's log, or "".
func crashed(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if crashPattern.MatchString(sc.Text()) {
			return sc.Text(), nil
		}
	}
	return "", sc.Err()
}
