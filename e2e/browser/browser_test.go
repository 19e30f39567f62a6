package browser

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// page is a stand-in for the web console: a token form that, once
// submitted, shows a button counting its clicks.
const page = `<!doctype html><title>t</title>
<form id="login"><input id="token"><button>go</button></form>
<div id="app" hidden><span id="tok"></span> <button id="btn">click</button> <span id="n">0</span> <span id="where">WHERE</span></div>
<script>
document.getElementById('login').onsubmit = e => {
  e.preventDefault();
  document.getElementById('tok').textContent = document.getElementById('token').value;
  document.getElementById('login').hidden = true;
  document.getElementById('app').hidden = false;
};
document.getElementById('btn').onclick = () => { const n = document.getElementById('n'); n.textContent = +n.textContent + 1; };
</script>`

func serve(where string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, strings.Replace(page, "WHERE", where, 1))
	})
}

// start starts a browser and closes it at the end of the test, then checks
// that no process of it is left and its profile directory is gone.
func start(t *testing.T, o Options) *Browser {
	t.Helper()
	if !Available(o.ExecPath) {
		t.Skip("no chromium at " + DefaultExecPath)
	}
	var out bytes.Buffer
	o.Output = &syncWriter{w: &out}
	b, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start: %v\nchromium said:\n%s", err, out.String())
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
		if n := Running(b.UserDataDir()); n != 0 {
			t.Errorf("got %d chromium processes after Close, want 0", n)
		}
		if _, err := os.Stat(b.UserDataDir()); !os.IsNotExist(err) {
			t.Errorf("got profile dir %s still there after Close (%v), want removed", b.UserDataDir(), err)
		}
	})
	return b
}

func TestTokenClickTextScreenshot(t *testing.T) {
	srv := httptest.NewServer(serve("root"))
	defer srv.Close()
	b := start(t, Options{Timeout: 3 * time.Second})
	if err := b.Open(srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := b.SetToken("s3cret"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.WaitText("#tok", "s3cret"); err != nil {
		t.Fatalf("got %q, %v; want the token shown", got, err)
	}
	for range 2 {
		if err := b.Click("#btn"); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := b.WaitText("#n", "2"); err != nil {
		t.Fatalf("got %q, %v; want 2 clicks counted", got, err)
	}
	if v, err := b.Visible("#login"); err != nil || v {
		t.Errorf("got login form visible=%v (%v), want hidden", v, err)
	}
	if n, err := b.Count("button"); err != nil || n != 2 {
		t.Errorf("got %d buttons (%v), want 2", n, err)
	}
	if _, err := b.WaitText("#n", "never"); err == nil || !strings.Contains(err.Error(), `got "2"`) {
		t.Errorf("got %v, want a timeout naming the last text", err)
	}
	png, err := b.Screenshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("got screenshot starting %q, want a PNG", png[:min(8, len(png))])
	}
}

func TestCloseTwice(t *testing.T) {
	b := start(t, Options{})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("got %v from a second Close, want nil", err)
	}
}

var nsCount atomic.Int32

// TestInNamespace runs the browser inside a network namespace that has only
// a loopback, where an HTTP server listens: a page the root namespace cannot
// reach. The browser reaches it; a server on the root namespace's loopback
// is out of its reach.
func TestInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	if !Available("") {
		t.Skip("no chromium at " + DefaultExecPath)
	}
	ns := fmt.Sprintf("hadbr%d-%d", os.Getpid(), nsCount.Add(1))
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del: %v: %s", err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	ln, err := listenIn(ns, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inside := &http.Server{Handler: serve("inside " + ns)}
	go inside.Serve(ln)
	t.Cleanup(func() { inside.Close() })
	outside := httptest.NewServer(serve("root"))
	defer outside.Close()

	b := start(t, Options{Prefix: []string{"ip", "netns", "exec", ns}})
	url := "http://" + ln.Addr().String() + "/"
	if err := b.Open(url); err != nil {
		t.Fatal(err)
	}
	if err := b.SetToken("x"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.WaitText("#where", "inside "+ns); err != nil {
		t.Fatalf("got %q, %v; want the namespace's page", got, err)
	}
	err = b.Open(outside.URL)
	if s, _ := b.Text("#where"); s == "root" {
		t.Errorf("got the root namespace's page from inside %s, want it unreachable", ns)
	}
	t.Logf("root namespace's %s from inside %s: %v", outside.URL, ns, err)
}

// listenIn opens a TCP listener inside the named namespace: the socket is
// created by a thread switched into it, and stays there afterwards.
func listenIn(name, addr string) (net.Listener, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("get namespace: %w", err)
	}
	defer orig.Close()
	h, err := netns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", name, err)
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		return nil, fmt.Errorf("enter namespace %s: %w", name, err)
	}
	ln, lerr := net.Listen("tcp", addr)
	if err := netns.Set(orig); err != nil {
		// This thread is stuck in the wrong namespace: keep it locked so
		// the runtime throws it away instead of reusing it.
		runtime.LockOSThread()
		return nil, fmt.Errorf("leave namespace %s: %w", name, err)
	}
	if lerr != nil {
		return nil, fmt.Errorf("listen in %s: %w", name, lerr)
	}
	return ln, nil
}
