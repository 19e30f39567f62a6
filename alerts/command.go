package alerts

import "context"

// command runs the user's alert command (alerts.command) with /bin/sh -c:
// HAD_ALERT_NODE, _LEVEL, _KIND, _TIME and _TEXT in its environment and
// the one-line alert on its standard input. Exit status 0 is success.
type command struct{ script string }

func newCommand(script string) *command { return &command{script: script} }

func (*command) name() string { return "command" }

func (c *command) deliver(ctx context.Context, a alert) error {
	return runShell(ctx, c.script, a.env(), a.line()+"\n")
}
