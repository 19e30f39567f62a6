package tables

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// recorder collects a watch's calls.
type recorder struct {
	mu    sync.Mutex
	calls []error
	kick  chan struct{}
}

func newRecorder() *recorder { return &recorder{kick: make(chan struct{}, 100)} }

func (r *recorder) changed(lost error) {
	r.mu.Lock()
	r.calls = append(r.calls, lost)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// next waits for the next call and returns it.
func (r *recorder) next(t *testing.T) error {
	t.Helper()
	select {
	case <-r.kick:
	case <-time.After(5 * time.Second):
		t.Fatal("no call within 5s")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[0]
	r.calls = r.calls[1:]
	return c
}

// fakeSubs hands out subscriptions whose channels the test feeds and closes.
type fakeSubs struct {
	mu   sync.Mutex
	subs []*subscription
	fail int // how many of the next subscribes fail
	made chan *subscription
}

func (f *fakeSubs) subscribe(*NetlinkWatcher) (*subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return nil, errors.New("injected subscribe failure")
	}
	s := &subscription{ch: make(chan netlink.AddrUpdate), done: make(chan struct{})}
	f.subs = append(f.subs, s)
	f.made <- s
	return s, nil
}

func update(ip string, bits int, added bool) netlink.AddrUpdate {
	a := net.ParseIP(ip)
	return netlink.AddrUpdate{LinkAddress: net.IPNet{IP: a, Mask: net.CIDRMask(bits, 8*len(a.To16()))}, NewAddr: added}
}

// TestWatcherDispatch checks, over a fake subscription, that deletions of
// the watched address are reported, additions and other addresses not,
// that a closed channel (ENOBUFS) leads to a new subscription and a call
// of every watch with the reason, and that a cancelled watch is not
// called again and the last one ends the subscription.
func TestWatcherDispatch(t *testing.T) {
	fs := &fakeSubs{made: make(chan *subscription, 10)}
	w := NewNetlinkWatcher(nil)
	w.subscribe = fs.subscribe
	r4, r6 := newRecorder(), newRecorder()
	cancel4, err := w.Watch("eth0", netip.MustParsePrefix("10.213.0.100/32"), r4.changed)
	if err != nil {
		t.Fatal(err)
	}
	cancel6, err := w.Watch("eth0", netip.MustParsePrefix("2001:db8::100/128"), r6.changed)
	if err != nil {
		t.Fatal(err)
	}
	sub := <-fs.made
	if len(fs.made) != 0 {
		t.Fatalf("got %d subscriptions for two watches, want 1", 1+len(fs.made))
	}
	sub.ch <- update("10.213.0.100", 32, true)  // an addition
	sub.ch <- update("10.213.0.101", 32, false) // another address
	sub.ch <- update("10.213.0.100", 32, false)
	if err := r4.next(t); err != nil {
		t.Errorf("deletion: got %v, want nil", err)
	}
	sub.ch <- update("2001:db8::100", 128, false)
	if err := r6.next(t); err != nil {
		t.Errorf("IPv6 deletion: got %v, want nil", err)
	}
	r4.mu.Lock()
	if len(r4.calls) != 0 {
		t.Errorf("calls for other events: %v", r4.calls)
	}
	r4.mu.Unlock()

	// The subscription dies (ENOBUFS), and the first re-subscription fails.
	fs.mu.Lock()
	fs.fail = 1
	fs.mu.Unlock()
	sub.mu.Lock()
	sub.err = errors.New("Receive failed: no buffer space available")
	sub.mu.Unlock()
	close(sub.ch)
	for _, r := range []*recorder{r4, r6} {
		if err := r.next(t); err == nil || !strings.Contains(err.Error(), "injected subscribe failure") {
			t.Errorf("after a failed re-subscription: got %v, want the failure", err)
		}
		if err := r.next(t); err == nil || !strings.Contains(err.Error(), "no buffer space") {
			t.Errorf("after re-subscription: got %v, want the lost events' reason", err)
		}
	}
	select {
	case <-sub.done:
	default:
		t.Errorf("the dead subscription's done channel is still open")
	}
	sub = <-fs.made
	cancel4()
	cancel4() // twice is fine
	sub.ch <- update("10.213.0.100", 32, false)
	sub.ch <- update("2001:db8::100", 128, false)
	if err := r6.next(t); err != nil {
		t.Errorf("deletion after re-subscription: got %v, want nil", err)
	}
	r4.mu.Lock()
	if len(r4.calls) != 0 {
		t.Errorf("a cancelled watch was called: %v", r4.calls)
	}
	r4.mu.Unlock()
	cancel6()
	select {
	case <-sub.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the last cancel did not end the subscription")
	}
	close(sub.ch) // as the netlink goroutine does once done is closed
}

// TestNamespaceWatcherENOBUFS overflows a real subscription: the watcher's
// dispatch is held up (as by a slow consumer) while 2000 address changes
// fill a small receive buffer, the kernel reports ENOBUFS, the netlink
// goroutine closes the channel (libraries.md §3), and the watcher
// subscribes again and tells the watch that events were lost (maybe more
// than once: a new subscription made during the burst overflows too). A
// deletion after that is still seen.
func TestNamespaceWatcherENOBUFS(t *testing.T) {
	p := newPair(t)
	ns, err := netns.GetFromName(p.ns1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	w := NewNetlinkWatcher(&ns)
	w.rcvBuf = 4096 // the kernel doubles it; a few dozen events
	r := newRecorder()
	vip := netip.PrefixFrom(p.vip, 32)
	cancel, err := w.Watch(p.dev1, vip, r.changed)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	var batch strings.Builder
	for i := range 1000 {
		a := fmt.Sprintf("10.214.%d.%d/32", i/250, i%250+1)
		fmt.Fprintf(&batch, "addr add %s dev %s\naddr del %s dev %s\n", a, p.dev1, a, p.dev1)
	}
	w.mu.Lock() // stalls dispatch: the next deletion event blocks run
	cmd := exec.Command("ip", "-n", p.ns1, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	out, err := cmd.CombinedOutput()
	w.mu.Unlock()
	if err != nil {
		t.Fatalf("ip -batch: %v: %s", err, out)
	}
	lost := r.next(t)
	if lost == nil || !strings.Contains(lost.Error(), "no buffer space") {
		t.Fatalf("got %v, want the lost events reported with ENOBUFS", lost)
	}
	t.Logf("reported: %v", lost)

	// The overflow may come early in the burst, and the new subscription
	// overflow too: more reports of lost events may come, then the
	// deletion.
	if err := NewNetlinkAddrs(p.h1).Add(p.dev1, vip, ""); err != nil {
		t.Fatal(err)
	}
	run(t, "-n", p.ns1, "addr", "del", vip.String(), "dev", p.dev1)
	for {
		got := r.next(t)
		if got == nil {
			break
		}
		if !strings.Contains(got.Error(), "no buffer space") {
			t.Fatalf("got %v, want lost events with ENOBUFS, then the deletion", got)
		}
	}
}
