package had1

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
)

// ErrNotSame: the PID now belongs to another process than the one recorded.
var ErrNotSame = errors.New("had1: pid reused by another process")

// Proc is a process this supervisor watches: one it started, or one it
// adopted from a predecessor (a restarted had1 finds the node's processes
// still running and keeps them, so a kill -9 of had1 costs no heartbeat).
// Processes are not started with Pdeathsig for that reason.
type Proc struct {
	PID     int
	Start   uint64 // /proc start time: identifies the process with its PID
	Started int64  // shm.Now() when we started or adopted it
	pidfd   *os.File
	done    chan struct{}
	cmd     *exec.Cmd // nil when adopted
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit status of a process we started, once Done; -1 when
// unknown (adopted, or killed by a signal).
func (p *Proc) ExitCode() int {
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Signal sends sig through the pidfd, which cannot hit a reused PID. It
// goes through the file's raw connection, not Fd, so that it races
// neither with Close (a keeper closes the pidfd once the process exited)
// nor takes the pidfd out of the netpoller.
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	rc, err := p.pidfd.SyscallConn()
	if err != nil {
		return nil // closed: the process is gone
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.PidfdSendSignal(int(fd), sig, nil, 0) }); err != nil {
		return nil // closed meanwhile: the process is gone
	}
	if serr != nil && !errors.Is(serr, unix.ESRCH) {
		return fmt.Errorf("signal %d: %w", p.PID, serr)
	}
	return nil
}

// Kill sends SIGKILL.
func (p *Proc) Kill() error { return p.Signal(unix.SIGKILL) }

// Spawn starts argv in its own process group with the given output and
// extra environment, and watches it.
func Spawn(argv, env []string, stdout, stderr io.Writer) (*Proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &Proc{PID: cmd.Process.Pid, Started: shm.Now(), done: make(chan struct{}), cmd: cmd}
	// The child is not reaped before cmd.Wait, so its PID is still ours.
	fd, err := unix.PidfdOpen(p.PID, unix.PIDFD_NONBLOCK)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("pidfd of %s: %w", argv[0], err)
	}
	p.pidfd = os.NewFile(uintptr(fd), "pidfd")
	p.Start, _ = daemon.StartTime(p.PID) // best effort: a child that already died has none
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Adopt watches a running process that is not our child. start must be the
// start time recorded with pid, so a reused PID is not adopted.
func Adopt(pid int, start uint64) (*Proc, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("adopt %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	// Checked after the pidfd is open: from here on it names this process.
	if got, err := daemon.StartTime(pid); err != nil || got != start {
		f.Close()
		return nil, fmt.Errorf("adopt %d: %w", pid, ErrNotSame)
	}
	p := &Proc{PID: pid, Start: start, Started: shm.Now(), pidfd: f, done: make(chan struct{})}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("adopt %d: %w", pid, err)
	}
	go func() {
		// A pidfd turns readable when the process exits; the netpoller
		// waits for that without tying up a thread.
		waited := false
		_ = rc.Read(func(uintptr) bool {
			if !waited {
				waited = true
				return false
			}
			return true
		})
		close(p.done)
	}()
	return p, nil
}

// Close releases the pidfd once the process is gone or no longer watched.
func (p *Proc) Close() { p.pidfd.Close() }
