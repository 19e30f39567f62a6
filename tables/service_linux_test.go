package tables

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// lsbScript is a small but real LSB init script: start runs a sleep in the
// background and writes its pid file; stop kills it and waits; status
// exits 0 running, 1 dead with its pid file left, 3 not running. A zombie
// counts as dead: PID 1 of some sandboxes does not reap orphans.
const lsbScript = `#!/bin/sh
PIDFILE=%[1]s/websvc.pid
running() {
	[ -f "$PIDFILE" ] || return 1
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/$(cat "$PIDFILE")/status 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}
case "$1" in
start)
	running && exit 0
	echo start >>%[1]s/calls
	sleep 300 </dev/null >/dev/null 2>&1 &
	echo $! >"$PIDFILE"
	exit 0 ;;
stop)
	echo stop >>%[1]s/calls
	if running; then
		kill "$(cat "$PIDFILE")"
		i=0
		while running && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
		running && exit 1
	fi
	rm -f "$PIDFILE"
	exit 0 ;;
status)
	running && exit 0
	[ -f "$PIDFILE" ] && exit 1
	exit 3 ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2 ;;
esac
`

// TestLSBService runs a real init script through the real ShellRunner.
func TestLSBService(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "websvc")
	if err := os.WriteFile(script, fmt.Appendf(nil, lsbScript, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tb, err := Parse("t.table", fmt.Appendf(nil, "service lsb=%s\n", script))
	if err != nil {
		t.Fatal(err)
	}
	deps := Deps{Runner: NewShellRunner()}
	log := zerolog.New(zerolog.NewTestWriter(t))
	ctx := t.Context()
	calls := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "calls"))
		return strings.Join(strings.Fields(string(b)), " ")
	}

	if err := tb.Start(ctx, log, deps); err != nil {
		t.Fatalf("Start: %v", err)
	}
	pid := readPID(t, filepath.Join(dir, "websvc.pid"))
	killLater(t, pid)
	if deadOrZombie(pid) {
		t.Fatalf("the daemon %d is not running after Start", pid)
	}
	if err := tb.Start(ctx, log, deps); err != nil {
		t.Fatalf("Start again: %v", err)
	}
	if got := calls(); got != "start" {
		t.Errorf("after two Starts the script saw %q, want one start (status said running)", got)
	}
	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !deadOrZombie(pid) {
		t.Errorf("the daemon %d still runs after Stop", pid)
	}
	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Errorf("Stop again: %v", err)
	}
	if got := calls(); got != "start stop stop" {
		t.Errorf("script calls: got %q, want %q", got, "start stop stop")
	}
}

// TestLSBServiceStopUnverified: a script whose stop leaves the daemon
// running fails the Stop, through the real runner.
func TestLSBServiceStopUnverified(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "stuck")
	body := "#!/bin/sh\ncase \"$1\" in status) exit 0 ;; *) exit 0 ;; esac\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	tb, err := Parse("t.table", fmt.Appendf(nil, "service lsb=%s\n", script))
	if err != nil {
		t.Fatal(err)
	}
	tb.Policy.StopRetries = 0
	err = tb.Stop(t.Context(), zerolog.Nop(), Deps{Runner: NewShellRunner()})
	if !errors.Is(err, ErrStillRunning) {
		t.Errorf("got %v, want ErrStillRunning", err)
	}
}

const ocfRoot = "/usr/lib/ocf"

func needAgent(t *testing.T, typ string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(ocfRoot, "resource.d/heartbeat", typ)); err != nil {
		t.Skipf("resource-agents' %s is not installed: %v", typ, err)
	}
}

// TestOCFDummy runs the real heartbeat:Dummy agent (its state is a file).
func TestOCFDummy(t *testing.T) {
	needAgent(t, "Dummy")
	dir := t.TempDir()
	state := filepath.Join(dir, "dummy1.state")
	tb, err := Parse("t.table", fmt.Appendf(nil, "ocf agent=heartbeat:Dummy name=dummy1 state=%s\n", state))
	if err != nil {
		t.Fatal(err)
	}
	deps := Deps{Runner: NewShellRunner()}
	log := zerolog.New(zerolog.NewTestWriter(t))
	ctx := t.Context()
	m := tb.Entries[0].(Monitorer)
	monitor := func(want bool) {
		t.Helper()
		if got, err := m.Monitor(ctx); got != want || err != nil {
			t.Errorf("Monitor: got %v, %v, want %v, nil", got, err, want)
		}
	}
	monitor(false)
	for i := range 2 {
		if err := tb.Start(ctx, log, deps); err != nil {
			t.Fatalf("Start %d: %v", i+1, err)
		}
		if _, err := os.Stat(state); err != nil {
			t.Errorf("after Start %d: %v", i+1, err)
		}
		monitor(true)
	}
	for i := range 2 {
		if err := tb.Stop(ctx, log, deps); err != nil {
			t.Fatalf("Stop %d: %v", i+1, err)
		}
		if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Stop %d: state file: %v, want gone", i+1, err)
		}
		monitor(false)
	}
	// A wrong parameter is the agent's to report, with its OCF code.
	bad, err := Parse("t.table", []byte("ocf agent=heartbeat:NoSuchAgent name=x\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Start(ctx, log, deps)
	if err == nil || !strings.Contains(err.Error(), "exit status 127") {
		t.Errorf("a missing agent: got %v, want exit status 127 from the shell", err)
	}
}

// TestOCFAnything runs a real daemon (sleep 30) with the real
// heartbeat:anything agent: started, monitored, stopped, gone.
//
// anything checks its process with `kill -0`, which a zombie passes, and
// PID 1 here does not reap orphans: this test makes itself the subreaper
// of its subtree and reaps the daemon, as an init that reaps would.
func TestOCFAnything(t *testing.T) {
	needAgent(t, "anything")
	if os.Geteuid() != 0 {
		t.Skip("anything starts its daemon with su: needs root")
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "sleeper.pid")
	tb, err := Parse("t.table", fmt.Appendf(nil,
		"ocf agent=heartbeat:anything name=sleeper timeout=20s binfile=/bin/sleep cmdline_options=30 pidfile=%s\n", pidfile))
	if err != nil {
		t.Fatal(err)
	}
	deps := Deps{Runner: NewShellRunner()}
	log := zerolog.New(zerolog.NewTestWriter(t))
	ctx := t.Context()
	if err := tb.Start(ctx, log, deps); err != nil {
		t.Fatalf("Start: %v", err)
	}
	pid := readPID(t, pidfile)
	killLater(t, pid)
	reaped := reapLater(t, pid)
	if got := strings.Join(cmdline(pid), " "); got != "/bin/sleep 30" {
		t.Errorf("the daemon: got %q, want /bin/sleep 30", got)
	}
	if running, err := tb.Entries[0].(Monitorer).Monitor(ctx); !running || err != nil {
		t.Errorf("Monitor: got %v, %v, want true, nil", running, err)
	}
	begin := time.Now()
	if err := tb.Stop(ctx, log, deps); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stop took %v", time.Since(begin))
	select {
	case <-reaped: // the status that Stop saw was after the reap; close follows it
	case <-time.After(5 * time.Second):
		t.Errorf("the daemon %d still runs after Stop", pid)
	}
	if running, err := tb.Entries[0].(Monitorer).Monitor(ctx); running || err != nil {
		t.Errorf("Monitor after Stop: got %v, %v, want false, nil", running, err)
	}
}

// reapLater reaps pid, an orphan this process adopted as subreaper, when it
// exits, and closes the channel then.
func reapLater(t *testing.T, pid int) <-chan struct{} {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd of %d: %v", pid, err)
	}
	if ppid := parentOf(pid); ppid != os.Getpid() {
		unix.Close(fd)
		t.Fatalf("the daemon's parent is %d, want this test (%d) as subreaper", ppid, os.Getpid())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer unix.Close(fd)
		waitPidfd(context.Background(), fd, time.Minute)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}()
	t.Cleanup(func() {
		unix.Kill(pid, unix.SIGKILL)
		<-done
	})
	return done
}

// parentOf returns a process's parent pid, or 0.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PPid:"); ok {
			var n int
			fmt.Sscan(strings.TrimSpace(v), &n)
			return n
		}
	}
	return 0
}
