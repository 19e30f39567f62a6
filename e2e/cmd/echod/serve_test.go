package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestServe checks both answers on loopback and a clean stop on cancel.
func TestServe(t *testing.T) {
	conns, err := listenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "A", conns, ln) }()

	c, err := net.DialUDP("udp", nil, conns[0].LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("ping \x00\x01 7")
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	// A connected socket only accepts the answer if it comes from the address
	// it sent to: this also checks the IP_PKTINFO path.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read udp answer: %v", err)
	}
	if got, want := buf[:n], append([]byte("A "), req...); !bytes.Equal(got, want) {
		t.Errorf("udp answer: got %q, want %q", got, want)
	}

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := string(body), "served by A\n"; got != want {
		t.Errorf("http answer: got %q, want %q", got, want)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop within 5s of cancel")
	}
}

func TestRunRejectsBadName(t *testing.T) {
	for _, name := range []string{"", "a b"} {
		if err := run(context.Background(), zerolog.Nop(), config{name: name}); err == nil {
			t.Errorf("run with name %q: got nil error, want one", name)
		}
	}
}

func TestReplyOOB(t *testing.T) {
	if got := replyOOB(nil); got != nil {
		t.Errorf("replyOOB(nil): got %v, want nil", got)
	}
	if got := replyOOB([]byte{1, 2, 3}); got != nil {
		t.Errorf("replyOOB(garbage): got %v, want nil", got)
	}
}
