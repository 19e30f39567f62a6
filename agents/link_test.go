package agents

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/shm"
)

func TestLinkState(t *testing.T) {
	const up, lower = unix.IFF_UP, unix.IFF_LOWER_UP
	tests := []struct {
		flags uint32
		oper  netlink.LinkOperState
		want  shm.Value
		text  string
	}{
		{up | lower, netlink.OperUp, shm.OK, "eth0 has carrier (operstate up)"},
		{up | lower, netlink.OperUnknown, shm.OK, "eth0 has carrier (operstate unknown)"}, // dummy, tun
		{up, netlink.OperLowerLayerDown, shm.Error, "eth0 has no carrier (operstate lower-layer-down)"},
		{up, netlink.OperDown, shm.Error, "eth0 has no carrier (operstate down)"}, // the far end went down: IFF_UP stays
		{lower, netlink.OperDown, shm.Error, "eth0 is administratively down"},
		{up | lower, netlink.OperDormant, shm.Error, "eth0 operstate dormant"},
	}
	for _, tc := range tests {
		got := linkState("eth0", tc.flags, tc.oper)
		if got.Value != tc.want || got.Text != tc.text {
			t.Errorf("flags %#x %s: got %v %q, want %v %q", tc.flags, tc.oper, got.Value, got.Text, tc.want, tc.text)
		}
	}
}

// TestLinkCarrier watches va in one namespace while its veth peer in
// another goes down and up: the agent writes ERROR, then OK, within a
// second each, from netlink events alone (the interval is a minute).
func TestLinkCarrier(t *testing.T) {
	needRoot(t)
	a, ha := newNS(t)
	b, _ := newNS(t)
	vethPair(t, a, b)

	c := &linkCheck{name: "va", src: &netlinkSource{ns: ha}, log: testLog(t), retry: 10 * time.Millisecond}
	if got := c.Check(context.Background()); got.Value != shm.OK {
		t.Fatalf("both ends up: got %v %q, want OK", got.Value, got.Text)
	}
	s := &fakeSlot{}
	r := &Runner{Checker: c, Slot: s, Interval: time.Minute, Timeout: time.Second, Hang: 3 * time.Minute, Fall: 1, Rise: 1, Log: testLog(t)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	waitValue(t, s, shm.OK, "", 2*time.Second)
	// The kernel sends a carrier loss up to a second late: its linkwatch
	// batches non-urgent link events of the whole machine once a second
	// (see linkCheck). A carrier gain is urgent.
	for _, step := range []struct {
		state  string
		want   shm.Value
		text   string
		within time.Duration
	}{
		{"down", shm.Error, "va has no carrier", 1500 * time.Millisecond},
		{"up", shm.OK, "va has carrier", 500 * time.Millisecond},
		{"down", shm.Error, "va has no carrier", 1500 * time.Millisecond},
		{"up", shm.OK, "va has carrier", 500 * time.Millisecond},
	} {
		ip(t, "-n", b, "link", "set", "vb", step.state)
		took := waitValue(t, s, step.want, step.text, step.within)
		t.Logf("peer %s → %v after %s", step.state, step.want, took.Round(10*time.Microsecond))
	}
	ip(t, "-n", a, "link", "set", "va", "down")
	waitValue(t, s, shm.Error, "administratively down", time.Second)
}

// waitValue waits until the slot's latest write has value v and a text
// containing text, and returns how long that took.
func waitValue(t *testing.T, s *fakeSlot, v shm.Value, text string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		writes, _, _ := s.snapshot()
		if n := len(writes); n > 0 && writes[n-1].Value == v && strings.Contains(writes[n-1].Text, text) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("no %v %q within %s; writes: %+v", v, text, within, writes)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLinkResubscribes provokes ENOBUFS: a tiny receive buffer, a
// consumer held up, and a burst of link changes. netlink then closes the
// update channel; the agent subscribes again, resyncs, and still hears
// the carrier go.
func TestLinkResubscribes(t *testing.T) {
	needRoot(t)
	a, ha := newNS(t)
	b, _ := newNS(t)
	vethPair(t, a, b)
	h, err := netlink.NewHandleAt(ha)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	va, err := h.LinkByName("va")
	if err != nil {
		t.Fatal(err)
	}

	c := &linkCheck{name: "va", src: &netlinkSource{ns: ha, rcvbuf: 1024}, log: testLog(t), retry: 10 * time.Millisecond}
	hold := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	var once sync.Once
	changes := make(chan struct{}, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Watch(ctx, func() {
			once.Do(func() { calls.Done(); <-hold }) // the first call waits: nobody reads the updates
			select {
			case changes <- struct{}{}:
			default:
			}
		})
	}()
	defer func() { cancel(); <-done }()
	calls.Wait()
	for i := range 300 {
		if err := h.LinkSetMTU(va, 1280+i%200); err != nil {
			t.Fatal(err)
		}
	}
	close(hold)
	deadline := time.Now().Add(5 * time.Second)
	for c.resubscribed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no resubscription after the burst: ENOBUFS was not provoked or not handled")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("resubscribed %d times", c.resubscribed.Load())

	// Drain what the burst left, then the carrier goes: an update must come.
	time.Sleep(50 * time.Millisecond)
	for len(changes) > 0 {
		<-changes
	}
	ip(t, "-n", b, "link", "set", "vb", "down")
	select {
	case <-changes:
	case <-time.After(time.Second):
		t.Fatal("no update within a second of the carrier loss after resubscribing")
	}
	waitCheck := time.Now().Add(time.Second)
	for {
		got := c.Check(context.Background())
		if got.Value == shm.Error {
			break
		}
		if time.Now().After(waitCheck) {
			t.Fatalf("got %v %q, want ERROR", got.Value, got.Text)
		}
		time.Sleep(time.Millisecond)
	}
}
