package tables

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// teeGrace is how long Stop waits after SIGTERM before SIGKILL: had-tee
// exits at once on SIGTERM, so a tee still there after it is stuck.
const teeGrace = 2 * time.Second

// binary returns the had-tee to run.
func (t *teeEntry) binary() (string, error) {
	if t.bin != "" {
		return t.bin, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find had-tee next to this program: %w", err)
	}
	return filepath.Join(filepath.Dir(exe), "had-tee"), nil
}

func (t *teeEntry) Start(ctx context.Context, env *Env) error {
	bin, err := t.binary()
	if err != nil {
		return err
	}
	if pid, argv := t.running(); pid > 0 {
		if slices.Equal(argv[1:], t.args()) {
			return nil
		}
		env.Log.Info().Str("entry", t.name).Int("pid", pid).Strs("was", argv[1:]).
			Msg("had-tee runs with other arguments: restarting it")
		if err := t.kill(ctx, pid); err != nil {
			return err
		}
	}
	pid, err := t.spawn(ctx, bin)
	if err != nil {
		return err
	}
	env.Log.Info().Str("entry", t.name).Int("pid", pid).Str("log", t.logFile()).Msg("had-tee started")
	return nil
}

func (t *teeEntry) Stop(ctx context.Context, env *Env) error {
	pid, _ := t.running()
	if pid == 0 {
		t.removePidFile(0)
		return nil
	}
	return t.kill(ctx, pid)
}

// running returns the pid and arguments of the had-tee of this entry's pid
// file, or 0 when there is none: no pid file, no such process, a zombie
// (its cmdline is empty), or a process that is not this entry's had-tee
// (the pid was reused), told apart by "--pidfile PIDFILE" in its command
// line.
func (t *teeEntry) running() (int, []string) {
	b, err := os.ReadFile(t.pidFile())
	if err != nil {
		return 0, nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, nil
	}
	argv := cmdline(pid)
	if !t.ours(argv) {
		return 0, nil
	}
	return pid, argv
}

func (t *teeEntry) ours(argv []string) bool {
	i := slices.Index(argv, "--pidfile")
	return i > 0 && i+1 < len(argv) && argv[i+1] == t.pidFile()
}

// cmdline returns a process's arguments, or nil.
func cmdline(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// removePidFile removes the pid file if it names pid, or if pid is 0 and it
// names no running had-tee of this entry.
func (t *teeEntry) removePidFile(pid int) {
	b, err := os.ReadFile(t.pidFile())
	if err != nil {
		return
	}
	if got, _ := strconv.Atoi(strings.TrimSpace(string(b))); got == pid || pid == 0 {
		os.Remove(t.pidFile())
	}
}

// spawn starts had-tee detached and waits until it says it is bound.
func (t *teeEntry) spawn(ctx context.Context, bin string) (int, error) {
	if err := os.MkdirAll(t.runDir, 0o755); err != nil {
		return 0, fmt.Errorf("make run directory: %w", err)
	}
	if err := os.Remove(t.pidFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("remove stale pid file: %w", err)
	}
	logf, err := os.OpenFile(t.logFile(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return 0, fmt.Errorf("open tee log: %w", err)
	}
	off, _ := logf.Seek(0, io.SeekEnd)
	pr, pw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return 0, fmt.Errorf("make ready pipe: %w", err)
	}
	cmd := exec.Command(bin, t.args()...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pw} // fd 3
	// A session of its own (no terminal, no signals meant for had's group)
	// and no Pdeathsig: the relay outlives a had2 restart.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	pw.Close()
	logf.Close()
	if err != nil {
		pr.Close()
		return 0, fmt.Errorf("start %s: %w", bin, err)
	}
	go cmd.Wait() // reap it, should it exit while this process lives

	ready := make(chan error, 1)
	go func() {
		defer pr.Close()
		line, err := bufio.NewReader(io.LimitReader(pr, 64)).ReadString('\n')
		if strings.TrimSpace(line) == teeReady {
			ready <- nil
			return
		}
		ready <- fmt.Errorf("had-tee exited before it was bound: %w", err)
	}()
	select {
	case err := <-ready:
		if err != nil {
			cmd.Process.Kill()
			return 0, fmt.Errorf("%w%s", err, logSince(t.logFile(), off))
		}
		return cmd.Process.Pid, nil
	case <-ctx.Done():
		cmd.Process.Kill()
		return 0, fmt.Errorf("wait for had-tee to bind: %w%s", ctx.Err(), logSince(t.logFile(), off))
	}
}

// teeReady is what had-tee writes on its ready pipe once bound.
const teeReady = "READY"

// logSince returns ": " and the last lines written to a log file from off.
func logSince(path string, off int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	tl := newTail(4096)
	f.Seek(off, io.SeekStart)
	io.Copy(tl, f)
	if s := tl.lines(5, 300); s != "" {
		return ": " + oneLine(s)
	}
	return ""
}

// kill ends the had-tee pid: SIGTERM, SIGKILL after teeGrace, then waits for
// it to exit within ctx. The pidfd makes the check of the command line and
// the signals refer to the same process, even if the pid is reused.
func (t *teeEntry) kill(ctx context.Context, pid int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		t.removePidFile(pid)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open pidfd of had-tee %d: %w", pid, err)
	}
	defer unix.Close(fd)
	if !t.ours(cmdline(pid)) {
		t.removePidFile(pid)
		return nil // exited and reused between the check and the open
	}
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGKILL} {
		if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal had-tee %d: %w", pid, err)
		}
		wait := teeGrace
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl)/2) // leave SIGKILL time within the step
		}
		if sig == unix.SIGKILL {
			wait = time.Hour // ctx bounds it
		}
		exited, err := waitPidfd(ctx, fd, wait)
		if exited {
			t.removePidFile(pid) // left behind after SIGKILL
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait for had-tee %d to exit: %w", pid, err)
		}
	}
	return nil // not reached: SIGKILL's wait ends with ctx
}

// waitPidfd waits up to d, or until ctx ends, for the process of a pidfd
// to exit (the pidfd polls readable then, zombie or not). It returns
// ctx's error when ctx ended first.
func waitPidfd(ctx context.Context, fd int, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		// Slices of at most 50 ms, so that a cancelled ctx is seen.
		n, err := unix.Poll(fds, int(max(min(left, 50*time.Millisecond), time.Millisecond)/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false, fmt.Errorf("poll pidfd: %w", err)
		}
		if n > 0 {
			return true, nil
		}
	}
}
