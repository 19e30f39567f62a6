package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/e2e/cluster"
)

// The whole alert path, to a real SMTP server from Debian's packages
// (aiosmtpd, in B's namespace): A is powered off, B's had2 records the
// OVERTIME and the takeover as events, B's admin server mails them. Each
// mail names the node, the event and the time.
func TestAlertMailOnFailover(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import aiosmtpd").Run() != nil {
		t.Skip("Debian's python3-aiosmtpd is not installed")
	}
	c, p := up(t, cluster.Options{Alerts: `min_level = "warning"
timeout = "5s"
[alerts.email]
server = "127.0.0.1:2525"
from = "had@example.test"
to = ["ops@example.test"]`})
	maildir := filepath.Join(c.Bed.Dir(), "maildir")
	if _, err := c.Bed.Start("B", "smtpd", []string{"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:2525",
		"-c", "aiosmtpd.handlers.Mailbox", maildir}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.Bed.InNS("B", func() error {
			conn, err := net.DialTimeout("tcp", "127.0.0.1:2525", time.Second)
			if err == nil {
				conn.Close()
			}
			return err
		})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SMTP server never listened: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	off := time.Now()
	if err := c.Bed.PowerOff("A"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FirstReplyFrom("B", off, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var mails []string
	deadline = time.Now().Add(15 * time.Second)
	for {
		mails = mails[:0]
		files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil {
				mails = append(mails, string(b))
			}
		}
		if found(mails, "OVERTIME") && found(mails, "taking over") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mails after the failover (%d): want one on OVERTIME and one on taking over:\n%s", len(mails), strings.Join(mails, "\n----\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, m := range mails {
		if !strings.Contains(m, "Subject: had B:") || !strings.Contains(m, "Date: ") || !strings.Contains(m, fmt.Sprint(off.UTC().Year())) {
			t.Errorf("a mail without the node, the event or the time:\n%s", m)
		}
	}
	t.Logf("%d mails; the first:\n%s", len(mails), mails[0])
}

func found(mails []string, s string) bool {
	for _, m := range mails {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
