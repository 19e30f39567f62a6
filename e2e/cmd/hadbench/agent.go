package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
)

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
	bed, err := newBed()
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
