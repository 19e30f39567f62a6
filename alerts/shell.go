package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// maxOutput bounds what is kept of a command's output for its error.
const maxOutput = 4 << 10

// waitDelay bounds the wait for output pipes held open by what a command
// left running in the background, after the command itself has exited.
const waitDelay = 500 * time.Millisecond

// runShell runs script with /bin/sh -c in a process group of its own,
// with env added to had's environment and stdin as its standard input.
// When ctx ends first the whole group is killed (SIGKILL: the timeout
// has already been spent), grandchildren included. A command that exits
// leaves its background children alone: "notify-send … &" is the user's
// choice. Failure is an error with the first line of its stderr (or
// stdout).
func runShell(ctx context.Context, script string, env []string, stdin string) error {
	var out, errOut capped
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start /bin/sh: %w", err)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		// Kill the group again: the shell may have been reaped before
		// Cancel ran, leaving its children behind.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return fmt.Errorf("kill command: %w", ctx.Err())
	}
	var ee *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		return nil // ErrWaitDelay: it exited 0; a background child held the output
	case errors.As(err, &ee):
		msg := firstLine(errOut.Bytes())
		if msg == "" {
			msg = firstLine(out.Bytes())
		}
		if msg != "" {
			return fmt.Errorf("run command: %w: %s", err, msg)
		}
	}
	return fmt.Errorf("run command: %w", err)
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
	return oneLine(string(line))
}

// capped keeps the first maxOutput bytes written to it.
type capped struct{ bytes.Buffer }

func (b *capped) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
