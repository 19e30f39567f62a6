package tables

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deadOrZombie reports whether pid is gone; a zombie counts as gone, since
// orphans are not reaped in every sandbox.
func deadOrZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readPID waits for a script to write a PID to path.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, 5*time.Second, "pid file "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	return pid
}

// killLater makes sure a process this test started goes away.
func killLater(t *testing.T, pid int) {
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
}

func TestShellRunner(t *testing.T) {
	r := NewShellRunner()
	tests := []struct {
		name  string
		shell string
		want  error
	}{
		{"success", "true", nil},
		{"stdin is empty", "cat", nil},
		{"exit code and output", "echo one; echo two >&2; exit 3", &ExitError{Code: 3, Output: "one\ntwo"}},
		{"last lines only", "for i in 1 2 3 4 5 6 7; do echo line $i; done; exit 1",
			&ExitError{Code: 1, Output: "line 3\nline 4\nline 5\nline 6\nline 7"}},
		{"killed by a signal", "kill -9 $$", &ExitError{Code: -1}},
	}
	for _, tt := range tests {
		err := r.Run(t.Context(), Command{Name: "t", Op: "start", Shell: tt.shell})
		var got, want ExitError
		ge, gok := errors.AsType[*ExitError](err)
		we, wok := errors.AsType[*ExitError](tt.want)
		if gok {
			got = *ge
		}
		if wok {
			want = *we
		}
		if gok != wok || got != want || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestShellRunnerCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	dir := t.TempDir()
	err := NewShellRunner().Run(ctx, Command{Shell: "touch " + filepath.Join(dir, "ran")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Errorf("the command ran")
	}
}

// TestShellRunnerTimeout checks that a timeout kills the command's whole
// process group, the script's own children too.
func TestShellRunnerTimeout(t *testing.T) {
	dir := t.TempDir()
	child := filepath.Join(dir, "child")
	script := "echo starting; sleep 300 & echo $! > " + child + "; wait"
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := NewShellRunner().Run(ctx, Command{Name: "t", Op: "start", Shell: script})
	took := time.Since(begin)
	pid := readPID(t, child)
	killLater(t, pid)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "starting") {
		t.Errorf("got %v, want a deadline error with the output", err)
	}
	if took > 2*time.Second {
		t.Errorf("took %v, want about the 300ms timeout (sh dies on SIGTERM)", took)
	}
	waitFor(t, 5*time.Second, "the script's child killed", func() bool { return deadOrZombie(pid) })
}

// TestShellRunnerKill checks that a command ignoring SIGTERM gets SIGKILL
// after the grace.
func TestShellRunnerKill(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "sh")
	script := "trap '' TERM; echo $$ > " + self + "; sleep 300; echo survived"
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	r := NewShellRunner()
	r.Grace = 300 * time.Millisecond
	begin := time.Now()
	err := r.Run(ctx, Command{Shell: script})
	took := time.Since(begin)
	pid := readPID(t, self)
	killLater(t, pid)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	if took < 500*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v, want the timeout and the grace, about 500ms", took)
	}
	if !deadOrZombie(pid) {
		t.Errorf("the shell survived")
	}
}

// TestShellRunnerDaemon checks that a start command leaving a daemon that
// holds its output does not hold up the step.
func TestShellRunnerDaemon(t *testing.T) {
	dir := t.TempDir()
	child := filepath.Join(dir, "child")
	begin := time.Now()
	err := NewShellRunner().Run(t.Context(), Command{Shell: "sleep 300 & echo $! > " + child})
	took := time.Since(begin)
	pid := readPID(t, child)
	killLater(t, pid)
	if err != nil {
		t.Errorf("got %v, want nil", err)
	}
	if took > 2*time.Second {
		t.Errorf("took %v, want about the 100ms drain", took)
	}
	if deadOrZombie(pid) {
		t.Errorf("the daemon died with the step")
	}
}
