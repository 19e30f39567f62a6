package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/e2e/browser"
	"github.com/hadcluster/had/e2e/cluster"
)

// The web console, in headless Chromium in the client namespace: B's page
// shows both nodes; clicking "Take over" there moves the VIP to B, as the
// client sees it; standby (confirmed) moves it back.
func TestWebConsoleTakeover(t *testing.T) {
	if !browser.Available("") {
		t.Skip("Debian's chromium is not installed")
	}
	c, p := up(t, cluster.Options{Remote: true, Agents: "[[agent]]\nname = \"stats\"\nkind = \"stats\"\n"})
	b, err := browser.Start(context.Background(), browser.Options{Prefix: []string{"ip", "netns", "exec", c.Bed.NS("C")}, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	must(t, b.Open(c.AdminURL("B")+"/"))
	must(t, b.SetToken(cluster.Token))
	if _, err := b.WaitText("#pair", "(N,N)"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText("#local-state", "N"); err != nil {
		t.Fatal(err)
	}

	clicked := time.Now()
	must(t, b.Click("#btn-takeover"))
	if _, err := b.WaitText("#answer", "OK:"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FirstReplyFrom("B", clicked, 10*time.Second); err != nil {
		t.Fatalf("after the click, the client was not served by B: %v", err)
	}
	waitARP(t, c, c.VIP(1), "B")
	if _, err := b.WaitText("#local-state", "T"); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("HAD_SCREENSHOTS"); dir != "" {
		// Let the plots fill a little, then keep the picture for the README.
		time.Sleep(3 * time.Second)
		must(t, b.ScreenshotFile(filepath.Join(dir, "web-console-live.png")))
	}

	again := time.Now()
	must(t, b.Click("#btn-standby"))
	must(t, b.Click("#btn-standby")) // it asks to confirm: it hands the service away
	if txt, err := b.WaitFunc("#answer", "an answer to standby", func(s string) bool { return strings.Contains(s, "standing by") }); err != nil {
		t.Fatalf("standby: %v (answer %q)", err, txt)
	}
	if _, err := p.FirstReplyFrom("A", again, 10*time.Second); err != nil {
		t.Fatalf("after standby on B, the client was not served by A: %v", err)
	}
	waitARP(t, c, c.VIP(1), "A")
}
