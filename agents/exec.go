package agents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
)

// Nagios plugin exit codes (monitoring-plugins' guidelines).
const (
	nagiosOK       = 0
	nagiosWarning  = 1
	nagiosCritical = 2
	nagiosUnknown  = 3
)

// maxOutput bounds what is kept of a plugin's output; Nagios itself keeps
// 8 KiB, and only the first line is used.
const maxOutput = 8 << 10

// execCheck: a Nagios plugin, run without a shell every interval. Its exit
// code is the value: 0 OK, 1 WARNING, 2 CRITICAL → ERROR, 3 UNKNOWN →
// WARNING, and anything else (another code, a signal, a program that
// cannot start) → ERROR. UNKNOWN means the plugin could not check at all
// (bad arguments, a name that does not resolve): that is no evidence the
// service failed, and an ERROR would let a typo in a check hand a healthy
// service over; OK would hide it, so it warns.
//
// The message is the first line of standard output with the performance
// data (after '|') dropped, since the slot's text holds only 112 bytes;
// with no output, the first line of standard error. A plugin still
// running at the timeout is killed with its whole process group.
type execCheck struct {
	argv []string
	env  []string
	run  func(ctx context.Context, argv, env []string) (code int, signaled bool, stdout, stderr []byte, err error)
}

func newExec(a config.Agent) *execCheck {
	return &execCheck{argv: a.Command, env: append(os.Environ(), EnvName+"="+a.Name), run: runPlugin}
}

func (c *execCheck) Check(ctx context.Context) Result {
	code, signaled, stdout, stderr, err := c.run(ctx, c.argv, c.env)
	if err != nil {
		if ctx.Err() != nil {
			return errorf("%s killed: %v", c.argv[0], ctx.Err())
		}
		return errorf("run %s: %v", c.argv[0], err)
	}
	return nagiosResult(code, signaled, stdout, stderr)
}

// nagiosResult turns a plugin's exit and output into a result.
func nagiosResult(code int, signaled bool, stdout, stderr []byte) Result {
	msg := firstLine(stdout, true)
	if msg == "" {
		msg = "(no output)"
		if e := firstLine(stderr, false); e != "" {
			msg += " stderr: " + e
		}
	}
	switch {
	case signaled:
		return errorf("killed by signal %d: %s", code, msg)
	case code == nagiosOK:
		return Result{Value: shm.OK, Text: msg}
	case code == nagiosWarning:
		return Result{Value: shm.Warning, Text: msg}
	case code == nagiosCritical:
		return Result{Value: shm.Error, Text: msg}
	case code == nagiosUnknown:
		if !strings.Contains(msg, "UNKNOWN") {
			msg = "UNKNOWN: " + msg
		}
		return Result{Value: shm.Warning, Text: msg}
	}
	return errorf("exit code %d: %s", code, msg)
}

// firstLine returns the first line of out, trimmed, without the
// performance data when perf is set.
func firstLine(out []byte, perf bool) string {
	line, _, _ := bytes.Cut(out, []byte("\n"))
	if perf {
		line, _, _ = bytes.Cut(line, []byte("|"))
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(line), "?"))
}

// cappedBuffer keeps the first maxOutput bytes written to it and drops the
// rest, so a plugin that floods its output cannot grow the agent.
type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// runPlugin runs argv in its own process group, with standard input from
// /dev/null, and kills the group when ctx ends. The group, not only the
// plugin: a shell script's children (check_by_ssh's ssh) would otherwise
// outlive it and hold its output open.
func runPlugin(ctx context.Context, argv, env []string) (code int, signaled bool, stdout, stderr []byte, err error) {
	var out, errOut cappedBuffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// Pdeathsig: a killed had-agent takes its plugin along. It fires when
	// the thread that forked exits (libraries.md §8), so every plugin is
	// started from one thread that never exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // a grandchild that keeps the pipes open
	if err := spawn(cmd); err != nil {
		return 0, false, nil, nil, err
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return int(ws.Signal()), true, out.Bytes(), errOut.Bytes(), ctx.Err()
		}
		err = nil
	case errors.Is(err, exec.ErrWaitDelay):
		err = nil // it exited; only a leftover child held the output open
	default:
		return 0, false, nil, nil, err
	}
	return cmd.ProcessState.ExitCode(), false, out.Bytes(), errOut.Bytes(), err
}

// spawner starts every plugin from one locked OS thread that never exits,
// so that Pdeathsig means "had-agent died", not "a thread went away". It
// is started on first use: programs that import this package only for
// List or Reporter do not get the thread.
var (
	spawnOnce sync.Once
	spawner   chan spawnReq
)

func startSpawner() {
	spawner = make(chan spawnReq)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the process
		for req := range spawner {
			req.err <- req.cmd.Start()
		}
	}()
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(startSpawner)
	errc := make(chan error, 1)
	spawner <- spawnReq{cmd: cmd, err: errc}
	if err := <-errc; err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return nil
}
