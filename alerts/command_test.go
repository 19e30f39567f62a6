package alerts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommand: the user command gets the HAD_ALERT_* environment and the
// alert on stdin.
func TestCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	script := fmt.Sprintf(`{ env | grep ^HAD_ALERT_ | sort; echo "stdin: $(cat)"; } > %s`, out)
	a := alert{Event: ev("warning", "path", "heartbeat path lan down"), held: 2, since: t0.Add(-time.Minute)}
	if err := newCommand(script).deliver(context.Background(), a); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := `HAD_ALERT_KIND=path
HAD_ALERT_LEVEL=warning
HAD_ALERT_NODE=alpha
HAD_ALERT_TEXT=heartbeat path lan down
HAD_ALERT_TIME=2026-11-22T02:00:00Z
stdin: had alpha: warning: heartbeat path lan down at 2026-11-22T02:00:00Z (2 more since 2026-11-22T01:59:00Z)
`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}

func TestCommandErrors(t *testing.T) {
	tests := []struct {
		name, script string
		timeout      time.Duration // long enough for a shell on a loaded machine, but for "timeout"
		want         string
	}{
		{"exit status with stderr", "echo no gateway >&2; exit 3", 10 * time.Second, "run command: exit status 3: no gateway"},
		{"exit status with stdout", "echo usage; exit 1", 10 * time.Second, "run command: exit status 1: usage"},
		{"not found", "/nonexistent/notify", 10 * time.Second, "exit status 127: "},
		{"timeout", "sleep 10", 200 * time.Millisecond, "kill command: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			err := newCommand(tt.script).deliver(ctx, alert{Event: ev("error", "x", "y")})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestCommandBackground: a command that leaves a child holding its output
// is done when it exits (after waitDelay at most), not when the child is.
func TestCommandBackground(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	begin := time.Now()
	if err := newCommand("sleep 3 & echo started").deliver(ctx, alert{Event: ev("error", "x", "y")}); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if took := time.Since(begin); took > waitDelay+time.Second {
		t.Errorf("took %v, want about %v", took, waitDelay)
	}
}
