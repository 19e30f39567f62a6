package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
)

// profile is one set of timers the failover is measured with.
type profile struct{ name, timers string }

// profiles are the timer settings measured. "default" is what ships.
var profiles = []profile{
	{"default", ""},
	{"fast", `interval = "10ms"
warntime = "20ms"
deadtime = "40ms"
initdead = "2s"
ack_timeout = "10ms"
retransmit = "4ms"`},
}

// failoverRun is one power-off of A, each step as the time since the power
// cut; -1 where the step was not observed.
type failoverRun struct {
	detect time.Duration // B's receiver logged OVERTIME
	decide time.Duration // B's had2 queued its TAKEREQUEST: it acts alone once the wait for TAKEACK ends
	vip    time.Duration // the VIP appeared on B's eth0 (netlink event in B's namespace)
	garp   time.Duration // the first gratuitous ARP for the VIP from B reached the client (kernel receive time)
	reply  time.Duration // the first reply from B at the VIP reached the client
}

// failoverSteps name the columns of failoverRun, in order.
var failoverSteps = []string{
	"detect: B's receiver logs OVERTIME",
	"decide: B's had2 sends TAKEREQUEST",
	"VIP added on B (netlink event)",
	"first gratuitous ARP at the client",
	"first reply from B at the VIP",
}

func (r failoverRun) steps() []time.Duration {
	return []time.Duration{r.detect, r.decide, r.vip, r.garp, r.reply}
}

// stepTimeout bounds the wait for each observation once B answers: they
// all happened before the reply, or never will.
const stepTimeout = 2 * time.Second

// measureFailover powers A off runs times on a fresh bed and records each
// step of B's takeover; A is powered on again and fails back between runs.
func measureFailover(bin string, pr profile, rt string, runs int) ([]failoverRun, error) {
	bed, err := newBed()
	if err != nil {
		return nil, err
	}
	defer bed.Close()
	c, err := cluster.New(bed, bin, cluster.Options{Timers: pr.timers, Realtime: rt})
	if err != nil {
		return nil, err
	}
	p, err := startCluster(c)
	if err != nil {
		return nil, err
	}
	watch, err := bed.WatchAddrs("B")
	if err != nil {
		return nil, err
	}
	capture, err := bed.CaptureARP("C")
	if err != nil {
		return nil, err
	}
	vip, macB, logB := c.VIP(1), bed.MAC("B"), bed.LogPath("B", "had1")
	var out []failoverRun
	for i := 0; i < runs; i++ {
		// A settled pair has just sent a heartbeat (a state change sends
		// one at once): power off at a random phase of the heartbeat, as a
		// real failure would, not right after one.
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
		off := time.Now()
		if err := bed.PowerOff("A"); err != nil {
			return nil, err
		}
		r, err := p.FirstReplyFrom("B", off, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
		run := failoverRun{detect: -1, decide: -1, vip: -1, garp: -1, reply: r.Received.Sub(off)}
		since := func(t time.Time) time.Duration { return t.Sub(off) }
		if l, ok, err := firstLog(logB, off, isOvertime); err != nil {
			return nil, err
		} else if ok {
			run.detect = since(l.Time)
		}
		if l, ok, err := firstLog(logB, off, isTakeRequest); err != nil {
			return nil, err
		} else if ok {
			run.decide = since(l.Time)
		}
		if at, _, err := watch.First(off, stepTimeout, func(e testbed.AddrEvent) bool { return e.Added && e.Prefix.Addr() == vip }); err == nil {
			run.vip = since(at)
		}
		if at, _, err := capture.First(off, stepTimeout, func(a testbed.ARPPacket) bool {
			return a.Gratuitous() && a.SenderIP == vip && a.SenderMAC == macB
		}); err == nil {
			run.garp = since(at)
		}
		out = append(out, run)

		if err := bed.PowerOn("A"); err != nil {
			return nil, err
		}
		on := time.Now()
		if err := c.Start("A"); err != nil {
			return nil, err
		}
		if _, err := p.FirstReplyFrom("A", on, 30*time.Second); err != nil {
			return nil, fmt.Errorf("run %d failback: %w", i, err)
		}
		if err := settled(c, p); err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
	}
	return out, nil
}

// isOvertime matches the receiver's OVERTIME line.
func isOvertime(l logLine) bool { return l.Proc == "receiver" && strings.HasSuffix(l.Msg, "OVERTIME") }

// isTakeRequest matches had2 queuing a TAKEREQUEST for the sender.
func isTakeRequest(l logLine) bool {
	return l.Proc == "had2" && l.Msg == "message queued" && l.str("msg") == "TAKEREQUEST"
}

// isTransition matches had2's transition into state to.
func isTransition(l logLine, to string) bool {
	return l.Proc == "had2" && l.Msg == "state changed" && l.str("to") == to
}

// startCluster starts both nodes and a prober at group 1's VIP, and waits
// until the pair has settled with A serving.
func startCluster(c *cluster.Cluster) (*testbed.Prober, error) {
	for _, n := range cluster.Nodes {
		if err := c.Start(n); err != nil {
			return nil, err
		}
	}
	p, err := c.Bed.Probe(netip.AddrPortFrom(c.VIP(1), cluster.ServicePort))
	if err != nil {
		return nil, err
	}
	if err := settled(c, p); err != nil {
		return nil, err
	}
	return p, nil
}

// settled waits until A answers at the VIP and both nodes report (N,N).
func settled(c *cluster.Cluster, p *testbed.Prober) error {
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
