package admin_test

import (
	"context"
	"io"
	"testing"

	"github.com/hadcluster/had/admin/admintest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// benchServer is a node with two paths, two agents and a few events.
func benchServer(b *testing.B) *admintest.Server {
	n, tbl := admintest.Node(b, admintest.NodeOptions{})
	admintest.Fill(tbl, 0)
	h := admintest.StartHad2(b, tbl, wire.GroupOf(1))
	for range 5 {
		h.Event(slots.Event{Kind: slots.EventTransition, Level: shm.Information, From: wire.StateDown, To: wire.StateNormal, Text: "booted"})
	}
	return admintest.Start(b, n, tbl, nil)
}

// GET /v1/status over the unix socket, one connection kept alive, as
// hactl top or a web console poll it.
func BenchmarkStatusSocket(b *testing.B) {
	srv := benchServer(b)
	c := console.NewUnixClient(srv.Socket)
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Status(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// The status alone: the table read and the JSON-ready struct.
func BenchmarkStatusGather(b *testing.B) {
	srv := benchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		srv.Status()
	}
}

// The same request without decoding the answer: the server's share.
func BenchmarkStatusSocketRaw(b *testing.B) {
	srv := benchServer(b)
	hc := unixHTTP(srv.Socket)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := hc.Get("http://unix/v1/status")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
