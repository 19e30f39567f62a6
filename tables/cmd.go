package tables

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Cmd entries: a resource driven by shell commands.
//
//	cmd name=web start="…" stop="…" [status="…"] [timeout=10s]
//
// Each command runs with /bin/sh -c in a process group of its own, within
// the entry's timeout; on timeout the whole group is killed.
//
// Without status, start and stop must themselves succeed on a running or a
// stopped resource, as LSB init scripts do. With status (exit 0 = running,
// anything else = not running, as LSB "status"):
//   - Start runs status first and skips start when it exits 0;
//   - Stop always runs stop, then runs status and fails if it still exits 0.
//
// Stop does not trust status to skip the stop: a status that wrongly said
// "stopped" would leave the resource running while the peer starts it.

type cmdEntry struct {
	base
	start, stop, status string
}

func parseCmd(r *rawEntry) Entry {
	c := &cmdEntry{}
	if len(r.args) > 0 {
		r.errorf("syntax", "cmd takes only options, got arguments %q (quote commands: start=\"…\")", r.args)
	}
	if _, ok := r.take("name"); !ok {
		r.errorf("name", "required")
	}
	c.base = r.base("cmd")
	c.start = r.str("start", true)
	c.stop = r.str("stop", true)
	c.status = r.str("status", false)
	return c
}

func (c *cmdEntry) Kind() Kind { return KindCmd }

func (c *cmdEntry) String() string {
	w := []string{string(KindCmd)}
	w = append(w, c.words()...)
	w = append(w, "start="+quote(c.start), "stop="+quote(c.stop))
	if c.status != "" {
		w = append(w, "status="+quote(c.status))
	}
	return strings.Join(w, " ")
}

func (c *cmdEntry) run(ctx context.Context, env *Env, op, shell string) error {
	if err := env.Runner.Run(ctx, Command{Name: c.name, Op: op, Shell: shell}); err != nil {
		return fmt.Errorf("run %s: %w", op, err)
	}
	return nil
}

func (c *cmdEntry) Start(ctx context.Context, env *Env) error {
	if env.Runner == nil {
		return fmt.Errorf("%w: cmd needs Runner", ErrMissingDep)
	}
	if c.status != "" {
		err := env.Runner.Run(ctx, Command{Name: c.name, Op: "status", Shell: c.status})
		if err == nil {
			return nil // running already
		}
		// Not running, or status could not tell (it failed to run): start
		// either way, since start must cope with a running resource.
	}
	return c.run(ctx, env, "start", c.start)
}

func (c *cmdEntry) Stop(ctx context.Context, env *Env) error {
	if env.Runner == nil {
		return fmt.Errorf("%w: cmd needs Runner", ErrMissingDep)
	}
	if err := c.run(ctx, env, "stop", c.stop); err != nil {
		return err
	}
	if c.status == "" {
		return nil
	}
	err := env.Runner.Run(ctx, Command{Name: c.name, Op: "status", Shell: c.status})
	var exit *ExitError
	switch {
	case err == nil:
		return fmt.Errorf("status exited 0: %w", ErrStillRunning)
	case errors.As(err, &exit) && exit.Code > 0:
		return nil
	default:
		return fmt.Errorf("run status after stop: %w", err)
	}
}

// ErrStillRunning is a resource that its status (cmd, service) or monitor
// (ocf) still reports running after its stop.
var ErrStillRunning = errors.New("tables: still running after stop")

// shQuote returns s as one /bin/sh word: bare when it is plain, else in
// single quotes (a quote inside becomes '\”).
func shQuote(s string) string {
	if s != "" && strings.Trim(s, shSafe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shSafe are the characters that mean nothing to the shell anywhere in a
// word.
const shSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,-"
