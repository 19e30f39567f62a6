package e2e

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
)

// listenIn opens a UDP socket on port in node's namespace.
func listenIn(t *testing.T, c *cluster.Cluster, node string, port int) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	err := c.Bed.InNS(node, func() error {
		var err error
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// sendFromClient sends one datagram from the client namespace.
func sendFromClient(t *testing.T, c *cluster.Cluster, to netip.AddrPort, msg string) {
	t.Helper()
	err := c.Bed.InNS("C", func() error {
		conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to))
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.Write([]byte(msg))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func expectDatagram(t *testing.T, conn *net.UDPConn, node, want string) {
	t.Helper()
	buf := make([]byte, 2048)
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("%s's receiver got nothing from the tee: %v", node, err)
	}
	if got := string(buf[:n]); got != want {
		t.Fatalf("%s's receiver got %q, want %q", node, got, want)
	}
}

// The OCF agent (Debian's real heartbeat:Dummy) and the seed-003 tee relay
// move with the group: on A while it serves, on B after A's power-off. The
// tee delivers one datagram sent to the VIP to the receivers of both nodes.
func TestOCFAgentAndTeeFollowTheGroup(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		t.Skip("Debian's resource-agents is not installed")
	}
	c, p := up(t, cluster.Options{OCF: true, Tee: true})
	if _, err := os.Stat(c.DummyState("A", 1)); err != nil {
		t.Fatalf("OCF Dummy not running on A: %v", err)
	}
	if _, err := os.Stat(c.DummyState("B", 1)); err == nil {
		t.Fatal("OCF Dummy running on B, which does not hold the group")
	}
	recvA, recvB := listenIn(t, c, "A", cluster.TeePort+1), listenIn(t, c, "B", cluster.TeePort+1)
	tee := netip.AddrPortFrom(c.VIP(1), cluster.TeePort)
	sendFromClient(t, c, tee, "request 1")
	expectDatagram(t, recvA, "A", "request 1")
	expectDatagram(t, recvB, "B", "request 1")

	off := time.Now()
	if err := c.Bed.PowerOff("A"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FirstReplyFrom("B", off, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitStatus("B", 5*time.Second, "B in T", func(s console.Status) bool { return s.Node.State == "T" }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.DummyState("B", 1)); err != nil {
		t.Fatalf("OCF Dummy not started on B after the takeover: %v", err)
	}
	waitARP(t, c, c.VIP(1), "B")
	sendFromClient(t, c, tee, "request 2")
	expectDatagram(t, recvB, "B", "request 2")
	t.Logf("power-off to B serving, with an OCF agent and a tee in the table: %v", time.Since(off).Round(time.Millisecond))
}
