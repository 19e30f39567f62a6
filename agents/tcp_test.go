package agents

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
)

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	a := config.DefaultAgent(config.KindTCP, "db")
	a.Address = addr
	c := New1(t, a)
	if got := c.Check(context.Background()); got.Value != shm.OK || !strings.Contains(got.Text, "connected to "+addr) {
		t.Errorf("listening: got %v %q, want OK", got.Value, got.Text)
	}
	ln.Close()
	if got := c.Check(context.Background()); got.Value != shm.Error || !strings.Contains(got.Text, "connection refused") {
		t.Errorf("closed: got %v %q, want ERROR connection refused", got.Value, got.Text)
	}
}
