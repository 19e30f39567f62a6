package tables

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ShellRunner runs commands with /bin/sh -c, each in a new process group.
//
// Output (stdout and stderr together) goes to a pipe whose last lines end
// up in the error of a failed command. A start command that leaves a
// daemon holding that pipe does not hold up the step: the runner waits for
// the shell, not for the pipe, and keeps draining the pipe in the
// background so the daemon gets no SIGPIPE while had runs. Commands should
// still redirect a daemon's output (>/dev/null 2>&1), as with any init
// script.
type ShellRunner struct {
	Shell string        // default /bin/sh
	Grace time.Duration // SIGTERM to SIGKILL of a timed-out command's group; default 2s
	Lines int           // output lines kept for the error; default 5
	Drain time.Duration // how long to wait for the pipe after the shell exits; default 100ms
}

var _ Runner = (*ShellRunner)(nil)

// NewShellRunner returns a ShellRunner with the defaults.
func NewShellRunner() *ShellRunner {
	return &ShellRunner{Shell: "/bin/sh", Grace: 2 * time.Second, Lines: 5, Drain: 100 * time.Millisecond}
}

// Run runs c.Shell and waits for it. When ctx ends first, the command's
// whole process group gets SIGTERM, then SIGKILL after Grace, and Run
// returns ctx's error with the output so far. A non-zero exit is an
// *ExitError.
func (r *ShellRunner) Run(ctx context.Context, c Command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	shell := r.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer devnull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("make output pipe: %w", err)
	}
	cmd := exec.Command(shell, "-c", c.Shell)
	cmd.Dir = "/"
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...) // later entries win
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, pw, pw // files: Wait does not wait for the pipe
	// A group of its own, so that a timeout kills what the script started
	// too. No Pdeathsig: a daemon started here must outlive had2's restarts.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("start %s: %w", shell, err)
	}
	pw.Close()
	out := newTail(4096)
	drained := make(chan struct{})
	go func() {
		io.Copy(out, pr) // until every holder of the write end is gone
		pr.Close()
		close(drained)
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	pgid := cmd.Process.Pid
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		syscall.Kill(-pgid, syscall.SIGTERM)
		grace := time.NewTimer(r.grace())
		select {
		case <-waited:
		case <-grace.C:
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-waited
		}
		grace.Stop()
		// Sweep what is left of the group (children that ignored SIGTERM).
		syscall.Kill(-pgid, syscall.SIGKILL)
		r.drain(drained)
		return fmt.Errorf("killed: %w%s", ctx.Err(), r.output(out))
	}
	r.drain(drained)
	if werr == nil {
		return nil
	}
	if ee, ok := errors.AsType[*exec.ExitError](werr); ok {
		return &ExitError{Code: ee.ExitCode(), Output: out.lines(r.lines(), 200)}
	}
	return fmt.Errorf("wait for %s: %w", shell, werr)
}

// drain waits a little for the output to reach EOF; a daemon still holding
// the pipe is left to the background copier.
func (r *ShellRunner) drain(drained <-chan struct{}) {
	d := r.Drain
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-drained:
	case <-tm.C:
	}
}

func (r *ShellRunner) grace() time.Duration {
	if r.Grace <= 0 {
		return 2 * time.Second
	}
	return r.Grace
}

func (r *ShellRunner) lines() int {
	if r.Lines <= 0 {
		return 5
	}
	return r.Lines
}

func (r *ShellRunner) output(t *tail) string {
	if s := t.lines(r.lines(), 200); s != "" {
		return ": " + oneLine(s)
	}
	return ""
}
