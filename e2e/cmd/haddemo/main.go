// haddemo brings up the two-node cluster of SPEC §9 — nodes A and B and a
// client in network namespaces on a bridge, a socat pty pair as the serial
// line — with a small service on the virtual IP, shows which node serves
// it, powers the active node off and on again, and tears everything down.
// With -hold it waits for Enter before tearing down, so the cluster can be
// explored with the commands it prints.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
)

func main() {
	hold := flag.Bool("hold", false, "keep the cluster up until Enter is pressed")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "haddemo: needs root (network namespaces)")
		os.Exit(1)
	}
	if err := run(*hold); err != nil {
		fmt.Fprintln(os.Stderr, "haddemo:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) {
	fmt.Printf("%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func run(hold bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	bin, err := cluster.BinDir()
	if err != nil {
		return err
	}
	say("creating namespaces A, B and client C on a bridge, and the serial line (socat pty pair)")
	bed, err := testbed.Create(testbed.Options{})
	if err != nil {
		return err
	}
	defer func() {
		say("tearing down")
		if err := bed.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "haddemo: teardown:", err)
		}
	}()
	c, err := cluster.New(bed, bin, cluster.Options{Agents: demoAgents})
	if err != nil {
		return err
	}
	vip := netip.AddrPortFrom(c.VIP(1), cluster.ServicePort)
	say("node A %s (MAC %s), node B %s (MAC %s), client %s; VIP %s", bed.Addr("A"), bed.MAC("A"), bed.Addr("B"), bed.MAC("B"), bed.Addr("C"), vip.Addr())
	for _, n := range cluster.Nodes {
		if err := c.Start(n); err != nil {
			return err
		}
	}
	say("had started on A and B; the client probes %s every millisecond", vip)
	p, err := bed.Probe(vip)
	if err != nil {
		return err
	}
	defer p.Stop()
	if _, err := p.FirstReplyFrom("A", time.Time{}, 30*time.Second); err != nil {
		return fmt.Errorf("the VIP never answered: %w", err)
	}
	showServer(c, p)
	showStatus(c, "A")

	say("powering node A off (every process killed, link down)")
	off := time.Now()
	if err := bed.PowerOff("A"); err != nil {
		return err
	}
	r, err := p.FirstReplyFrom("B", off, 10*time.Second)
	if err != nil {
		return err
	}
	say("client served by B %v after the power-off", r.Received.Sub(off).Round(time.Millisecond))
	showServer(c, p)
	showStatus(c, "B")

	say("powering node A on and starting had there: automatic failback")
	if err := bed.PowerOn("A"); err != nil {
		return err
	}
	on := time.Now()
	if err := c.Start("A"); err != nil {
		return err
	}
	r, err = p.FirstReplyFrom("A", on, 30*time.Second)
	if err != nil {
		return err
	}
	say("client served by A again %v after A's start", r.Received.Sub(on).Round(time.Millisecond))
	if _, err := c.WaitStatus("A", 10*time.Second, "pair (N,N)", func(s console.Status) bool { return s.Pair == "(N,N)" }); err != nil {
		return err
	}
	showServer(c, p)
	showStatus(c, "A")
	if out, err := bed.HTTPGet(fmt.Sprintf("http://%s:%d/", vip.Addr(), cluster.HTTPPort)); err == nil {
		say("HTTP from the client: %s", strings.TrimSpace(out))
	}

	say("killing the service on node A: its critical agent reports ERROR and A hands over")
	b, err := os.ReadFile(filepath.Join(bed.RunDir("A"), "echod-g1.pid"))
	if err != nil {
		return err
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	if r, err = p.FirstReplyFrom("B", killed, 10*time.Second); err != nil {
		return err
	}
	say("client served by B %v after the service died on A", r.Received.Sub(killed).Round(time.Millisecond))
	if _, err := c.WaitStatus("A", 5*time.Second, "A standing by", func(s console.Status) bool { return s.Node.State == "D" }); err != nil {
		return err
	}
	showStatus(c, "A")
	say("the operator restarts the service on A: its agent reports OK and A takes the VIP back")
	restarted := time.Now()
	if out, err := bed.Exec("A", c.ServiceScript("A", 1), "start"); err != nil {
		return fmt.Errorf("restart the service: %w: %s", err, out)
	}
	if r, err = p.FirstReplyFrom("A", restarted, 10*time.Second); err != nil {
		return err
	}
	say("client served by A again %v after the restart", r.Received.Sub(restarted).Round(time.Millisecond))
	showServer(c, p)

	if hold {
		fmt.Printf("\nThe cluster stays up. Try, in another shell:\n")
		for _, n := range cluster.Nodes {
			fmt.Printf("  ip netns exec %s %s/hactl --config %s status\n", bed.NS(n), bin, c.ConfigPath(n))
		}
		fmt.Printf("  ip netns exec %s %s/hactl --config %s standby\n", bed.NS("A"), bin, c.ConfigPath("A"))
		fmt.Printf("Logs: %s/log/. Press Enter to tear down.\n", bed.Dir())
		done := make(chan struct{})
		go func() { bufio.NewReader(os.Stdin).ReadString('\n'); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	return nil
}

// demoAgents: a critical check of the service on the VIP, and the
// statistics agent whose figures hactl status shows.
var demoAgents = fmt.Sprintf(`[[agent]]
name = "web"
kind = "tcp"
address = "127.0.0.1:%d"
critical = true
interval = "250ms"
timeout = "250ms"

[[agent]]
name = "stats"
kind = "stats"
`, cluster.HTTPPort)

// showServer prints who answered the client last and its ARP entry.
func showServer(c *cluster.Cluster, p *testbed.Prober) {
	rs := p.Replies()
	if len(rs) == 0 {
		return
	}
	last := rs[len(rs)-1]
	mac, state, _ := c.Bed.ARP(c.VIP(1))
	say("the VIP is served by node %s; the client's ARP entry: %s (%s)", last.Node, mac, state)
}

func showStatus(c *cluster.Cluster, node string) {
	out, err := c.Hactl(node, "status")
	if err != nil {
		say("hactl status on %s: %v", node, err)
		return
	}
	say("hactl status on %s:", node)
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		fmt.Println("      " + l)
	}
}
