package agents

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
)

var nsCount atomic.Int32

// needRoot skips a test that creates namespaces when not root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
}

// newNS creates a network namespace with a name unique to this test
// process, deleted when the test ends.
func newNS(t *testing.T) (string, netns.NsHandle) {
	t.Helper()
	name := fmt.Sprintf("hadag%d-%d", os.Getpid(), nsCount.Add(1))
	ip(t, "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ip(t, "-n", name, "link", "set", "lo", "up")
	return name, h
}

// vethPair links namespace a (interface va) to b (interface vb), both up.
func vethPair(t *testing.T, a, b string) {
	t.Helper()
	ip(t, "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b)
	ip(t, "-n", a, "link", "set", "va", "up")
	ip(t, "-n", b, "link", "set", "vb", "up")
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// inNS runs f on a thread moved into namespace h: sockets f opens live
// there.
func inNS(t *testing.T, h netns.NsHandle, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			t.Error(err)
			return
		}
		defer orig.Close()
		if err := netns.Set(h); err != nil {
			t.Error(err)
			return
		}
		f()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread() // else the thread stays locked and dies with the goroutine
		}
	}()
	<-done
}
