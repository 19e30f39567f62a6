package agents

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
)

type fakePinger struct {
	rtt     time.Duration
	err     error
	count   int
	spacing time.Duration
}

func (p *fakePinger) Ping(_ context.Context, _ netip.Addr, count int, spacing time.Duration) (time.Duration, error) {
	p.count, p.spacing = count, spacing
	return p.rtt, p.err
}

func TestGatewayCheck(t *testing.T) {
	p := &fakePinger{rtt: 420 * time.Microsecond}
	c := &gatewayCheck{addr: netip.MustParseAddr("10.213.0.254"), count: 3, timeout: 900 * time.Millisecond, p: p}
	if got := c.Check(context.Background()); got.Value != shm.OK || got.Text != "10.213.0.254 answered in 420µs" {
		t.Errorf("got %v %q", got.Value, got.Text)
	}
	if p.count != 3 || p.spacing != 300*time.Millisecond {
		t.Errorf("got %d pings %s apart, want 3 spread over the timeout (300ms)", p.count, p.spacing)
	}
	p.err = errors.New("no echo reply to 3 requests")
	if got := c.Check(context.Background()); got.Value != shm.Error || got.Text != "10.213.0.254: no echo reply to 3 requests" {
		t.Errorf("got %v %q", got.Value, got.Text)
	}
}

// TestGatewayICMP pings across a veth pair between two namespaces made
// here: the peer's address answers, an absent one does not, and nothing
// answers once the peer's side is down.
func TestGatewayICMP(t *testing.T) {
	needRoot(t)
	a, ha := newNS(t)
	b, _ := newNS(t)
	vethPair(t, a, b)
	ip(t, "-n", a, "addr", "add", "10.213.77.1/24", "dev", "va")
	ip(t, "-n", b, "addr", "add", "10.213.77.2/24", "dev", "vb")
	ip(t, "-n", a, "addr", "add", "2001:db8:77::1/64", "dev", "va", "nodad")
	ip(t, "-n", b, "addr", "add", "2001:db8:77::2/64", "dev", "vb", "nodad")

	check := func(addr string, timeout time.Duration) Result {
		g := config.DefaultAgent(config.KindGateway, "gw")
		g.Address, g.Timeout = addr, timeout
		c := New1(t, g)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var r Result
		inNS(t, ha, func() { r = c.Check(ctx) })
		return r
	}
	for _, addr := range []string{"10.213.77.2", "2001:db8:77::2"} {
		if got := check(addr, time.Second); got.Value != shm.OK || !strings.Contains(got.Text, "answered in") {
			t.Errorf("%s: got %v %q, want OK", addr, got.Value, got.Text)
		}
	}
	start := time.Now()
	if got := check("10.213.77.3", 300*time.Millisecond); got.Value != shm.Error || !strings.Contains(got.Text, "no echo reply to 3 requests") {
		t.Errorf("absent address: got %v %q, want ERROR no reply", got.Value, got.Text)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("an unanswered check took %s, want about its 300ms timeout", took)
	}
	ip(t, "-n", b, "link", "set", "vb", "down")
	if got := check("10.213.77.2", 300*time.Millisecond); got.Value != shm.Error {
		t.Errorf("peer down: got %v %q, want ERROR", got.Value, got.Text)
	}
	if got := check("10.213.99.1", 300*time.Millisecond); got.Value != shm.Error || !strings.Contains(got.Text, "unreachable") {
		t.Errorf("no route: got %v %q, want ERROR network unreachable", got.Value, got.Text)
	}
}
