package commtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

func TestDeliversInOrder(t *testing.T) {
	p := New(1).Path("udp0")
	for i := range 10 {
		p.A.Send([]byte{byte(i)})
	}
	for i := range 10 {
		b, err := p.B.RecvTimeout(time.Second)
		if err != nil || !bytes.Equal(b, []byte{byte(i)}) {
			t.Fatalf("frame %d: got %v, %v", i, b, err)
		}
	}
	if _, ok := p.A.TryRecv(); ok {
		t.Error("a frame came back to the sending end")
	}
}

func TestSendCopies(t *testing.T) {
	p := New(1).Path("udp0")
	b := []byte("abc")
	p.A.Send(b)
	b[0] = 'x'
	if got, _ := p.B.RecvTimeout(time.Second); string(got) != "abc" {
		t.Errorf("got %q, want the bytes as sent", got)
	}
}

func TestCutAndHeal(t *testing.T) {
	p := New(1).Path("udp0")
	p.Cut()
	p.A.Send([]byte("lost"))
	p.B.Send([]byte("lost"))
	if _, ok := p.B.TryRecv(); ok {
		t.Error("frame crossed a cut path")
	}
	if _, ok := p.A.TryRecv(); ok {
		t.Error("frame crossed a cut path")
	}
	p.Heal()
	p.A.Send([]byte("ok"))
	if b, _ := p.B.RecvTimeout(time.Second); string(b) != "ok" {
		t.Errorf("after heal: got %q", b)
	}
	if s := p.A.Stats(); s.Sent != 2 || s.Lost != 1 || s.Delivered != 1 {
		t.Errorf("stats: got %+v, want 2 sent, 1 lost, 1 delivered", s)
	}
}

func TestOneDirectionCut(t *testing.T) {
	p := New(1).Path("serial0")
	p.A.SetCut(true)
	p.A.Send([]byte("lost"))
	p.B.Send([]byte("ok"))
	if _, ok := p.B.TryRecv(); ok {
		t.Error("frame crossed the cut direction")
	}
	if b, _ := p.A.RecvTimeout(time.Second); string(b) != "ok" {
		t.Errorf("other direction: got %q", b)
	}
}

func TestLossFollowsSeed(t *testing.T) {
	run := func(seed int64) string {
		p := New(seed).Path("udp0")
		p.A.SetLoss(0.5)
		var got []byte
		for i := range 64 {
			p.A.Send([]byte{byte(i)})
		}
		for {
			b, ok := p.B.TryRecv()
			if !ok {
				break
			}
			got = append(got, b[0])
		}
		return fmt.Sprint(got)
	}
	a, b := run(7), run(7)
	if a != b {
		t.Errorf("seed 7 twice: got %s and %s", a, b)
	}
	if n := len(a); n < 10 {
		t.Errorf("seed 7: almost everything lost: %s", a)
	}
}

func TestDelay(t *testing.T) {
	p := New(1).Path("serial0")
	p.A.SetDelay(20 * time.Millisecond)
	start := time.Now()
	for i := range 5 {
		p.A.Send([]byte{byte(i)})
	}
	for i := range 5 {
		b, err := p.B.RecvTimeout(5 * time.Second)
		if err != nil || b[0] != byte(i) {
			t.Fatalf("frame %d: got %v, %v", i, b, err)
		}
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("delayed frames arrived after %v, want at least 20ms", d)
	}
	p.A.Close()
}

func TestCloseAndInject(t *testing.T) {
	p := New(1).Path("udp0")
	p.B.Inject([]byte("garbage"))
	if b, _ := p.B.RecvTimeout(time.Second); string(b) != "garbage" {
		t.Errorf("injected: got %q", b)
	}
	done := make(chan error)
	go func() {
		_, err := p.B.Recv()
		done <- err
	}()
	p.B.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Recv after Close: got %v, want net.ErrClosed", err)
	}
	if err := p.B.Send([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close: got %v, want net.ErrClosed", err)
	}
	if err := p.A.Send([]byte("x")); err != nil {
		t.Errorf("Send to a closed end: got %v, want nil (it vanishes)", err)
	}
	if _, err := p.A.RecvTimeout(time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("RecvTimeout with nothing sent: got %v, want ErrTimeout", err)
	}
}
