// Package browser drives a headless Chromium for tests of had's web console:
// start it, open a page, give the page its token, click, wait for a text,
// take a screenshot, close. The chromedp context plumbing stays in here.
//
// Chromium talks to us over --remote-debugging-pipe (file descriptors 3 and
// 4, chromedp's default transport), not over a TCP debugging port. That is
// what makes network namespaces easy: with Options.Prefix = {"ip", "netns",
// "exec", NS} the browser process lives in NS and reaches the pages there,
// while the pipe between it and the test crosses no network at all (`ip netns
// exec` execs Chromium in place, so the inherited descriptors stay). A
// debugging port would instead listen on NS's loopback, which the test,
// in the root namespace, cannot reach.
//
// Typical use against a node's admin server, from a client namespace:
//
//	b, err := browser.Start(ctx, browser.Options{Prefix: []string{"ip", "netns", "exec", clientNS}})
//	if err != nil { t.Fatal(err) }
//	t.Cleanup(func() { b.Close() })
//	b.Open("http://10.213.0.11:8443/")
//	b.SetToken(token)
//	b.WaitText("#pair", "(N,N)")
//	b.Click("#btn-takeover")        // #btn-standby needs two clicks: it asks to confirm
//	b.WaitText("#answer", "OK:")    // "Refused: …" when had2 said no
//	b.WaitText("#local-state", "T")
//	b.ScreenshotFile(filepath.Join(dir, "console.png"))
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultExecPath is Debian's Chromium.
const DefaultExecPath = "/usr/bin/chromium"

// ErrNoChromium is returned by Start when the Chromium binary is missing.
var ErrNoChromium = errors.New("browser: chromium not found")

// Options says how to start the browser. The zero value is usable.
type Options struct {
	// ExecPath is the Chromium binary; "" means DefaultExecPath.
	ExecPath string
	// Prefix runs Chromium through a command, e.g. {"ip", "netns", "exec",
	// "ns1"} to put the browser inside network namespace ns1. The command
	// must exec its arguments in place and keep file descriptors 3 and 4
	// open (ip netns exec and nsenter do).
	Prefix []string
	// Width and Height are the window size in CSS pixels; 0 means 1280×900.
	Width, Height int
	// Timeout bounds each action (Open, Click, WaitText, …); 0 means 15 s.
	Timeout time.Duration
	// Output receives Chromium's stdout and stderr; nil discards them.
	Output io.Writer
}

// Browser is one running headless Chromium with one tab.
type Browser struct {
	ctx         context.Context // the tab's chromedp context
	cancelTab   context.CancelFunc
	cancelAlloc context.CancelFunc
	dir         string // the fresh profile, removed by Close
	timeout     time.Duration
	closed      bool
}

// flags are the switches that keep Chromium quiet on a machine without
// internet: no sandbox (we run as root), no GPU, and none of the background
// services that would dial out (QUIC, component updates, sync, …).
var flags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", true),
	chromedp.Flag("no-sandbox", true),
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("no-first-run", true),
	chromedp.Flag("no-default-browser-check", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-default-apps", true),
	chromedp.Flag("disable-extensions", true),
	chromedp.Flag("disable-breakpad", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
	chromedp.Flag("metrics-recording-only", true),
	chromedp.Flag("safebrowsing-disable-auto-update", true),
	chromedp.Flag("password-store", "basic"),
	chromedp.Flag("hide-scrollbars", true),
	chromedp.Flag("mute-audio", true),
	chromedp.Flag("force-color-profile", "srgb"),
}

// Available reports whether the Chromium binary at execPath ("" means
// DefaultExecPath) exists, so tests can skip without it.
func Available(execPath string) bool {
	if execPath == "" {
		execPath = DefaultExecPath
	}
	_, err := exec.LookPath(execPath)
	return err == nil
}

// Start launches Chromium with a fresh profile directory and opens a blank
// tab. Close must be called, also when a later step fails.
func Start(ctx context.Context, o Options) (*Browser, error) {
	if o.ExecPath == "" {
		o.ExecPath = DefaultExecPath
	}
	if !Available(o.ExecPath) {
		return nil, fmt.Errorf("start browser %s: %w", o.ExecPath, ErrNoChromium)
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1280, 900
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Second
	}
	var prefixPath string
	if len(o.Prefix) > 0 {
		p, err := exec.LookPath(o.Prefix[0])
		if err != nil {
			return nil, fmt.Errorf("start browser: find %s: %w", o.Prefix[0], err)
		}
		prefixPath = p
	}
	dir, err := os.MkdirTemp("", "had-chromium-")
	if err != nil {
		return nil, fmt.Errorf("start browser: make profile dir: %w", err)
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(o.ExecPath),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) { prefixCmd(cmd, prefixPath, o.Prefix) }),
	}, flags...)
	if o.Output != nil {
		opts = append(opts, chromedp.CombinedOutput(o.Output))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tctx, cancelTab := chromedp.NewContext(actx)
	b := &Browser{ctx: tctx, cancelTab: cancelTab, cancelAlloc: cancelAlloc, dir: dir, timeout: o.Timeout}
	// The first action starts the process: fail here, not in Open. It must
	// run on the tab's own context, as chromedp ties the browser's life to
	// the context of the first action (a timeout context would end it), so
	// the start is bounded by a timer instead.
	stop := time.AfterFunc(o.Timeout, cancelTab)
	err = chromedp.Do(tctx)
	if !stop.Stop() && err == nil {
		err = context.DeadlineExceeded
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("start browser %s: %w", o.ExecPath, err)
	}
	return b, nil
}

// prefixCmd runs cmd through the prefix command, and asks the kernel to kill
// the browser if we die: ModifyCmdFunc replaces chromedp's own settings,
// which set that. chromedp starts the process from a goroutine locked to its
// thread until the process exits, so the thread-bound Pdeathsig is safe.
func prefixCmd(cmd *exec.Cmd, path string, prefix []string) {
	if len(prefix) > 0 {
		cmd.Args = append(append([]string{}, prefix...), cmd.Args...)
		cmd.Path = path
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// UserDataDir is the browser's profile directory (removed by Close).
func (b *Browser) UserDataDir() string { return b.dir }

// do runs actions with the per-action timeout.
func (b *Browser) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Run runs any chromedp actions with the per-action timeout, for what the
// helpers below do not cover.
func (b *Browser) Run(actions ...chromedp.Action[chromedp.Void]) error {
	if err := b.do(actions...); err != nil {
		return fmt.Errorf("run browser actions: %w", err)
	}
	return nil
}

// Open loads url and waits until its document has loaded.
func (b *Browser) Open(url string) error {
	if err := b.do(chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	return nil
}

// SetToken answers the web console's token form: it waits for the #token
// field, types token and submits the form.
func (b *Browser) SetToken(token string) error {
	err := b.do(
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SetValue(chromedp.CSS("#token"), token),
		// requestSubmit, unlike form.submit (chromedp.Submit), fires the
		// submit event the page listens to.
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#token").form.requestSubmit()`),
	)
	if err != nil {
		return fmt.Errorf("set token: %w", err)
	}
	return nil
}

// Click waits until the element matching the CSS selector sel is visible
// and enabled, and clicks it.
func (b *Browser) Click(sel string) error {
	err := b.do(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.WaitEnabled(chromedp.CSS(sel)),
		chromedp.Click(chromedp.CSS(sel)),
	)
	if err != nil {
		return fmt.Errorf("click %s: %w", sel, err)
	}
	return nil
}

// Text is the text content of the first element matching sel, trimmed; ""
// when nothing matches.
func (b *Browser) Text(sel string) (string, error) {
	var s *string
	if err := b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent : null })()`, sel), &s); err != nil {
		return "", err
	}
	if s == nil {
		return "", nil
	}
	return strings.TrimSpace(*s), nil
}

// Count is how many elements match sel.
func (b *Browser) Count(sel string) (int, error) {
	var n int
	err := b.Eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n)
	return n, err
}

// Visible reports whether the first element matching sel exists and is
// rendered (not display:none, here or in an ancestor).
func (b *Browser) Visible(sel string) (bool, error) {
	var v bool
	err := b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.getClientRects().length > 0 })()`, sel), &v)
	return v, err
}

// Eval evaluates a JavaScript expression in the page and decodes its JSON
// value into out.
func (b *Browser) Eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		return fmt.Errorf("evaluate %.60q: %w", expr, err)
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 { // undefined
		raw = []byte("null")
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode value of %.60q: %w", expr, err)
	}
	return nil
}

// WaitText polls the text of sel until it contains want, and returns it.
// On timeout the error names the last text seen.
func (b *Browser) WaitText(sel, want string) (string, error) {
	return b.WaitFunc(sel, want, func(s string) bool { return strings.Contains(s, want) })
}

// WaitFunc polls the text of sel until ok accepts it; what describes the
// wait in the error.
func (b *Browser) WaitFunc(sel, what string, ok func(string) bool) (string, error) {
	deadline := time.Now().Add(b.timeout)
	var last string
	for {
		s, err := b.Text(sel)
		if err == nil && ok(s) {
			return s, nil
		}
		if err == nil {
			last = s
		}
		if time.Now().After(deadline) {
			if err != nil {
				return "", fmt.Errorf("wait for %s %q: %w", sel, what, err)
			}
			return "", fmt.Errorf("wait for %s %q: got %q after %v", sel, what, last, b.timeout)
		}
		select {
		case <-b.ctx.Done():
			return "", fmt.Errorf("wait for %s %q: %w", sel, what, b.ctx.Err())
		case <-time.After(50 * time.Millisecond): // poll period, not a wait for the condition
		}
	}
}

// WaitVisible waits until sel is rendered.
func (b *Browser) WaitVisible(sel string) error {
	if err := b.do(chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		return fmt.Errorf("wait for %s visible: %w", sel, err)
	}
	return nil
}

// Screenshot returns a PNG of the whole page (not just the window).
func (b *Browser) Screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, fmt.Errorf("take screenshot: %w", err)
	}
	return png, nil
}

// ScreenshotFile writes Screenshot to path.
func (b *Browser) ScreenshotFile(path string) error {
	png, err := b.Screenshot()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("write screenshot: %w", err)
	}
	return nil
}

// Close stops Chromium, kills any of its leftover children, and removes the
// profile directory. It is safe to call more than once.
func (b *Browser) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	// A graceful close first, so Chromium flushes nothing half-written in
	// the directory we are about to remove; bounded, as it can hang.
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	_ = chromedp.Cancel(ctx)
	cancel()
	b.cancelTab()
	b.cancelAlloc() // kills the process if still there, and waits for it
	killLeftovers(b.dir)
	if err := removeAll(b.dir); err != nil {
		return fmt.Errorf("close browser: %w", err)
	}
	return nil
}
