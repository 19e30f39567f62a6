package comm

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// fakePort is a serial port in memory. Once killed it behaves like a
// serial port whose far end went away: every Read and Write fails.
type fakePort struct {
	in     chan []byte
	out    chan []byte
	rest   []byte
	dead   chan struct{}
	closed chan struct{}
	kill   sync.Once
	shut   sync.Once
}

func newFakePort() *fakePort {
	return &fakePort{in: make(chan []byte, 64), out: make(chan []byte, 64),
		dead: make(chan struct{}), closed: make(chan struct{})}
}

func (p *fakePort) Read(b []byte) (int, error) {
	if len(p.rest) == 0 {
		select {
		case p.rest = <-p.in:
		case <-p.dead:
			return 0, errors.New("fake port: port has been closed")
		case <-p.closed:
			return 0, errors.New("fake port: port has been closed")
		}
	}
	n := copy(b, p.rest)
	p.rest = p.rest[n:]
	return n, nil
}

func (p *fakePort) Write(b []byte) (int, error) {
	select {
	case <-p.dead:
		return 0, unix.EIO
	default:
	}
	p.out <- bytes.Clone(b)
	return len(b), nil
}

func (p *fakePort) Close() error {
	p.shut.Do(func() { close(p.closed) })
	return nil
}

// fakeDevice hands out fakePorts while it is plugged in.
type fakeDevice struct {
	mu      sync.Mutex
	present bool
	cur     *fakePort
	opens   atomic.Int32
	fails   atomic.Int32
}

func (d *fakeDevice) open() (port, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.present {
		d.fails.Add(1)
		return nil, fmt.Errorf("open fake: %w", os.ErrNotExist)
	}
	d.cur = newFakePort()
	d.opens.Add(1)
	return d.cur, nil
}

func (d *fakeDevice) port() *fakePort {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur
}

// unplug kills the open port and makes the device vanish.
func (d *fakeDevice) unplug() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.present = false
	if d.cur != nil {
		d.cur.kill.Do(func() { close(d.cur.dead) })
	}
}

func (d *fakeDevice) plug() {
	d.mu.Lock()
	d.present = true
	d.mu.Unlock()
}

func framed(payload []byte) []byte { return wire.AppendSerial(nil, payload) }

// noise returns n random bytes without a sync byte, so that all of them
// count as garbage and none starts a false frame.
func noise(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		for b[i] = byte(rng.Intn(256)); b[i] == wire.SerialSync; b[i] = byte(rng.Intn(256)) {
		}
	}
	return b
}

// recvAll runs Recv in the background and hands out copies of what it
// returns.
func recvAll(l Link) <-chan []byte {
	ch := make(chan []byte, 64)
	go func() {
		defer close(ch)
		for {
			b, err := l.Recv()
			if err != nil {
				return
			}
			ch <- bytes.Clone(b)
		}
	}()
	return ch
}

func expectPayload(t *testing.T, ch <-chan []byte, want []byte) {
	t.Helper()
	select {
	case got, ok := <-ch:
		if !ok {
			t.Fatalf("Recv stopped; want %q", want)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("got payload %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no payload in 5s; want %q", want)
	}
}

func TestSerialSkipsNoise(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	dev := &fakeDevice{present: true}
	s := newSerial("serial0", dev.open, testLog(t))
	defer s.Close()
	ch := recvAll(s)
	waitFor(t, 5*time.Second, "the port to open", func() bool { return dev.port() != nil })
	var stream []byte
	garbage := 0
	var want [][]byte
	for i := range 20 {
		g := noise(rng, rng.Intn(200))
		garbage += len(g)
		p := []byte(fmt.Sprintf("frame %d", i))
		want = append(want, p)
		stream = append(append(stream, g...), framed(p)...)
	}
	// Deliver in random pieces: frames split anywhere.
	for len(stream) > 0 {
		n := min(1+rng.Intn(150), len(stream))
		dev.port().in <- stream[:n]
		stream = stream[n:]
	}
	for _, w := range want {
		expectPayload(t, ch, w)
	}
	if got := s.Dropped().Noise; got != uint64(garbage) {
		t.Errorf("seed %d: noise counted: got %d, want %d", seed, got, garbage)
	}
}

func TestSerialSendFrames(t *testing.T) {
	dev := &fakeDevice{present: true}
	s := newSerial("serial0", dev.open, testLog(t))
	defer s.Close()
	if err := s.Send([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the port to open", func() bool { return dev.port() != nil })
	select {
	case got := <-dev.port().out:
		if want := framed([]byte("hello")); !bytes.Equal(got, want) {
			t.Fatalf("written: got % x, want % x", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing written")
	}
	if err := s.Send(nil); err == nil {
		t.Error("empty frame accepted")
	}
	if err := s.Send(make([]byte, wire.MaxSerialPayload+1)); err == nil {
		t.Error("oversized frame accepted")
	}
}

// A stuck line drops frames instead of blocking the sender.
func TestSerialSendNeverBlocks(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	s := newSerial("serial0", func() (port, error) { return stuckPort{block}, nil }, testLog(t))
	defer s.Close()
	busy := 0
	for range 10 {
		if err := s.Send([]byte("x")); errors.Is(err, ErrBusy) {
			busy++
		}
	}
	// serialQueue frames in the queue, and one in the stuck write if the
	// writer took it already.
	if lo, hi := 10-1-serialQueue, 10-serialQueue; busy < lo || busy > hi {
		t.Errorf("busy drops: got %d, want %d to %d", busy, lo, hi)
	}
}

type stuckPort struct{ block chan struct{} }

func (p stuckPort) Read([]byte) (int, error)  { <-p.block; return 0, errors.New("closed") }
func (p stuckPort) Write([]byte) (int, error) { <-p.block; return 0, errors.New("closed") }
func (p stuckPort) Close() error              { return nil }

func TestSerialReopensAfterOutage(t *testing.T) {
	dev := &fakeDevice{present: true}
	s := newSerial("serial0", dev.open, testLog(t))
	defer s.Close()
	ch := recvAll(s)
	waitFor(t, 5*time.Second, "the port to open", func() bool { return dev.port() != nil })
	dev.port().in <- framed([]byte("before"))
	expectPayload(t, ch, []byte("before"))

	dev.unplug()
	waitFor(t, 5*time.Second, "failed reopen attempts", func() bool { return dev.fails.Load() >= 2 })
	if err := s.Send([]byte("lost")); err == nil {
		t.Error("Send while the device is away: got nil, want an error")
	}
	opens := dev.opens.Load()
	dev.plug()
	waitFor(t, 5*time.Second, "the port to reopen", func() bool { return dev.opens.Load() > opens })
	dev.port().in <- framed([]byte("after"))
	expectPayload(t, ch, []byte("after"))
	waitFor(t, 5*time.Second, "Send to work again", func() bool { return s.Send([]byte("out")) == nil })
	select {
	case got := <-dev.port().out:
		if !bytes.Equal(got, framed([]byte("out"))) {
			t.Fatalf("written after reopen: got % x", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing written after reopen")
	}
	s.Close()
	if _, ok := <-ch; ok {
		t.Error("Recv returned a frame after Close")
	}
}

// The receiver over a serial line with noise between frames: frames
// accepted, noise counted in the serial drop counter.
func TestReceiverSerialGarbage(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	tbl := newTable(t)
	dev := &fakeDevice{present: true}
	s := newSerial("serial0", dev.open, testLog(t))
	o := receiverOptions(t, tbl, []Path{{Name: "serial0", Link: s}})
	o.Liveness = 10 * time.Millisecond
	g := &rxRig{t: t, tbl: tbl, o: o, c: testCodec(t)}
	r, err := NewReceiver(o)
	if err != nil {
		t.Fatal(err)
	}
	runReceiver(t, r)
	waitFor(t, 5*time.Second, "the port to open", func() bool { return dev.port() != nil })
	garbage := 0
	for seq := uint64(1); seq <= 5; seq++ {
		n := noise(rng, 10+rng.Intn(100))
		garbage += len(n)
		dev.port().in <- append(n, framed(g.frame(wire.Frame{Seq: seq}))...)
	}
	waitFor(t, 5*time.Second, "5 frames accepted and the noise counted", func() bool {
		d := readDaemon(t, tbl, shm.SlotReceiver)
		return readPeer(tbl).Accepted == 5 && d.Extra[slots.ExtraDropSerial] == uint64(garbage)
	})
	if p := readPath(tbl, 0); p.Dropped != 0 || !p.Up || p.Heard != 5 {
		t.Errorf("seed %d: path slot: got %+v, want up, 5 heard, no frame dropped", seed, p)
	}
}

// The real thing: a termios tty over a socat PTY pair, and socat killed
// and started again under the link's feet.
func TestSerialSocatRestart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	socat, err := exec.LookPath("socat")
	if err != nil {
		t.Skip("socat not installed")
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	start := func() *exec.Cmd {
		t.Helper()
		cmd := exec.Command(socat, "-d", "-d", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		t.Cleanup(func() {
			unix.Kill(pid, unix.SIGKILL)
			cmd.Wait()
		})
		waitFor(t, 5*time.Second, "socat's PTYs", func() bool {
			_, ea := os.Stat(a)
			_, eb := os.Stat(b)
			return ea == nil && eb == nil
		})
		return cmd
	}
	cmd := start()
	// Each node's sender and receiver are two processes opening the same
	// device: sa sends on a, ra receives on a; b does both in one link.
	sa := OpenSerial("a-tx", a, 115200, false, testLog(t))
	defer sa.Close()
	ra := OpenSerial("a-rx", a, 115200, true, testLog(t))
	defer ra.Close()
	sb := OpenSerial("b", b, 115200, true, testLog(t))
	defer sb.Close()
	atB, atA := recvAll(sb), recvAll(ra)

	// Sends until one frame arrives: the first may go out before the
	// other end is open, and after the restart until both have reopened.
	flows := func(what string, from Link, to <-chan []byte) {
		t.Helper()
		payload := []byte(what)
		end := time.Now().Add(10 * time.Second)
		for time.Now().Before(end) {
			from.Send(payload)
			select {
			case got := <-to:
				if bytes.Equal(got, payload) {
					return
				}
			case <-time.After(10 * time.Millisecond):
			}
		}
		t.Fatalf("%s: no frame through socat in 10s", what)
	}
	flows("a to b", sa, atB)
	flows("b to a", sb, atA)
	old, _ := os.Readlink(a)
	// The links go first, as in testbed.CutSerial: a dangling link names a
	// /dev/pts number the kernel may give to the next pty opened (here the
	// one held below), and an end reopening by it would stay on that pty
	// for good (seen under stress-ng: 2 runs in 120).
	for _, l := range []string{a, b} {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// Every end must notice: readers at once, the writer on its next write.
	waitFor(t, 5*time.Second, "every end to see the outage", func() bool {
		sa.Send([]byte("x"))
		return sa.ports.isDown() && ra.ports.isDown() && sb.ports.isDown()
	})
	// Hold a PTY so that the new socat's cannot reuse the old numbers: the
	// links must be reopened by name, not by what they pointed to.
	if ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err == nil {
		defer ptmx.Close()
	}
	start()
	now, _ := os.Readlink(a)
	t.Logf("socat restarted: %s was %s, now %s", a, old, now)
	flows("a to b again", sa, atB)
	flows("b to a again", sb, atA)
}

func runReceiver(t testing.TB, r *Receiver) (stop func()) {
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("receiver Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
