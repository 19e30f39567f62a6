package agents

import (
	"context"
	"net"
	"time"

	"github.com/hadcluster/had/config"
)

// dialer opens a connection (a *net.Dialer).
type dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// tcpCheck: a TCP connection to host:port is accepted within the timeout.
// The connection is closed at once; nothing is sent.
type tcpCheck struct {
	addr string
	d    dialer
}

func newTCP(a config.Agent) *tcpCheck { return &tcpCheck{addr: a.Address, d: &net.Dialer{}} }

func (c *tcpCheck) Check(ctx context.Context) Result {
	start := time.Now()
	conn, err := c.d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return errorf("connect %s: %v", c.addr, err)
	}
	took := time.Since(start)
	conn.Close()
	return okf("connected to %s in %s", c.addr, took.Round(time.Microsecond))
}
