package agents

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hadcluster/had/config"
)

// pinger sends count ICMP echo requests to dst, spaced apart, and returns
// the round trip of the first reply; an error when none came before ctx
// ended.
type pinger interface {
	Ping(ctx context.Context, dst netip.Addr, count int, spacing time.Duration) (time.Duration, error)
}

// gatewayCheck: an address (the default gateway, an upstream router)
// answers ICMP echo. Each check sends count requests spread over the
// timeout and is OK when any is answered, so one lost packet is not a lost
// uplink.
//
// A gateway agent is meant to be critical with scope "node" (its default
// scope): a node whose uplink is gone is unfit, so when the peer can still
// reach the gateway the groups move there; when both nodes lost it, the
// peer is unfit too and the groups stay where they are (SPEC §6).
type gatewayCheck struct {
	addr    netip.Addr
	count   int
	timeout time.Duration
	p       pinger
}

func newGateway(a config.Agent) (*gatewayCheck, error) {
	addr, err := netip.ParseAddr(a.Address)
	if err != nil {
		return nil, fmt.Errorf("gateway address: %w", err)
	}
	return &gatewayCheck{addr: addr, count: a.Count, timeout: a.Timeout, p: icmpPinger{}}, nil
}

func (c *gatewayCheck) Check(ctx context.Context) Result {
	rtt, err := c.p.Ping(ctx, c.addr, c.count, c.timeout/time.Duration(c.count))
	if err != nil {
		return errorf("%s: %v", c.addr, err)
	}
	return okf("%s answered in %s", c.addr, rtt.Round(time.Microsecond))
}
