package e2e

import (
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/e2e/browser"
	"github.com/hadcluster/had/e2e/cluster"
)

// TestScreenshots renders `hactl status` and the live view (`hactl top`,
// captured from a real terminal in tmux) of a running cluster into PNGs
// for the README. It runs only with HAD_SCREENSHOTS=DIR:
//
//	HAD_SCREENSHOTS=$PWD/docs go test ./e2e -run 'TestScreenshots|TestWebConsole' -v
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("HAD_SCREENSHOTS")
	if dir == "" {
		t.Skip("set HAD_SCREENSHOTS=DIR to render the console screenshots")
	}
	for _, tool := range []string{"tmux", "aha"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	agents := fmt.Sprintf("[[agent]]\nname = \"web\"\nkind = \"tcp\"\naddress = \"127.0.0.1:%d\"\ncritical = true\n\n"+
		"[[agent]]\nname = \"stats\"\nkind = \"stats\"\n", cluster.HTTPPort)
	c, _ := up(t, cluster.Options{Remote: true, Agents: agents})
	time.Sleep(4 * time.Second) // a few samples for the figures

	status, err := c.Hactl("A", "status")
	if err != nil {
		t.Fatalf("hactl status: %v: %s", err, status)
	}
	render(t, filepath.Join(dir, "hactl-status.png"), "<pre>"+html.EscapeString(status)+"</pre>", 980)

	session := fmt.Sprintf("hadshot%d", os.Getpid())
	cmd := fmt.Sprintf("ip netns exec %s %s --config %s top", c.Bed.NS("A"), filepath.Join(c.Bin, "hactl"), c.ConfigPath("A"))
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", "132", "-y", "42", cmd).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", session).Run() })
	time.Sleep(3 * time.Second) // a few redraws
	pane, err := exec.Command("tmux", "capture-pane", "-p", "-e", "-t", session).Output()
	if err != nil {
		t.Fatal(err)
	}
	aha := exec.Command("aha", "--no-header", "--black")
	aha.Stdin = strings.NewReader(string(pane))
	body, err := aha.Output()
	if err != nil {
		t.Fatal(err)
	}
	render(t, filepath.Join(dir, "hactl-top.png"), "<pre>"+string(body)+"</pre>", 1100)
}

// render writes body as a terminal-looking page and screenshots it.
func render(t *testing.T, png, body string, width int) {
	t.Helper()
	page := filepath.Join(t.TempDir(), "page.html")
	doc := `<!doctype html><meta charset="utf-8"><style>
body{margin:0;background:#111418;color:#e6e6e6}
pre{margin:0;padding:16px 20px;font:13px/1.35 "DejaVu Sans Mono",monospace;white-space:pre}
</style>` + body
	must(t, os.WriteFile(page, []byte(doc), 0o644))
	b, err := browser.Start(context.Background(), browser.Options{Width: width, Height: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	must(t, b.Open("file://"+page))
	must(t, b.ScreenshotFile(png))
	t.Logf("wrote %s", png)
}
