// hactl is had's console: a client of the node's admin server (its unix
// socket) for the status of the node and the pair, the live view, the
// operator's takeover, standby, recover and reload, the events and the
// history; and, for a daemon agent's script, `hactl report`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hadcluster/had/agents"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/console"
)

const usage = `usage: hactl [--config FILE | --socket PATH] COMMAND [--json]
commands:
  status            both nodes' states, the pair, the paths, the resources,
                    the processes, the agents, the last transitions
  top [--once]      the live view, redrawn every second until q or Ctrl-C
                    (one frame when --once or when stdout is not a terminal;
                    --json: the status it shows)
  takeover          take every resource group to this node
  standby           hand every group to the peer and stand by
  recover           leave standby and take this node's own group back
  reload            have had1 re-read the configuration
  events [--after N]  the events had2 recorded (transitions, alerts, …)
  history           the samples of the last minutes (--json for all of them)
  report ok|info|warning|error [MESSAGE]
                    from a daemon agent's script: write its result slot
Every command answers JSON with --json (docs/console-api.md).
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// options are hactl's flags; they may come before or after the command.
type options struct {
	cfgPath  string
	cfgGiven bool
	socket   string
	asJSON   bool
	timeout  time.Duration
	once     bool
	after    uint64
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("hactl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.cfgPath, "config", "/etc/had/had.toml", "node configuration (for the admin socket's path)")
	fs.StringVar(&o.socket, "socket", "", "the admin server's socket (default: [admin] socket of the configuration)")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for an answer")
	fs.BoolVar(&o.once, "once", false, "top: print one frame and exit")
	fs.Uint64Var(&o.after, "after", 0, "events: only those after number N")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmd := fs.Arg(0)
	if cmd == "report" {
		// Run by a daemon agent: its slot comes from the environment had1
		// gave it, not from the admin server; the message is free text.
		if err := agents.ReportCommand(fs.Args()[1:]); err != nil {
			fmt.Fprintln(stderr, "hactl:", err)
			return 1
		}
		return 0
	}
	// Flags may also follow the command: hactl status --json.
	if fs.NArg() > 1 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "hactl: unexpected %q after %s\n", fs.Arg(0), cmd)
			return 2
		}
	}
	fs.Visit(func(f *flag.Flag) { o.cfgGiven = o.cfgGiven || f.Name == "config" })
	if cmd == "" {
		fs.Usage()
		return 2
	}
	socket, err := socketPath(o)
	if err != nil {
		fmt.Fprintln(stderr, "hactl:", err)
		return 1
	}
	c := console.NewUnixClient(socket)
	defer c.Close()
	ctx := context.Background()
	out := func(v any) {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(v)
	}
	fail := func(err error) int {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) || isConnRefused(err) {
			fmt.Fprintf(stderr, "hactl: cannot reach the admin server at %s (is had running on this node? are you root or in its group?): %v\n", socket, err)
		} else {
			fmt.Fprintln(stderr, "hactl:", err)
		}
		return 1
	}

	switch cmd {
	case "status":
		st, err := c.Status(ctx)
		if err != nil {
			return fail(err)
		}
		if o.asJSON {
			out(st)
			return 0
		}
		fmt.Fprint(stdout, statusText(st))
	case "top":
		if o.asJSON { // what one frame shows: the status
			st, err := c.Status(ctx)
			if err != nil {
				return fail(err)
			}
			out(st)
			return 0
		}
		return top(ctx, c, o, stdout, stderr)
	case "takeover", "standby", "recover":
		reply, err := c.Command(ctx, cmd, o.timeout)
		if err != nil {
			return fail(err)
		}
		if o.asJSON {
			out(reply)
		} else {
			fmt.Fprintln(stdout, reply.Text)
		}
		if !reply.OK {
			return 1
		}
	case "reload":
		reply, err := c.Reload(ctx, o.timeout)
		if err != nil {
			return fail(err)
		}
		if o.asJSON {
			out(reply)
		} else {
			fmt.Fprintln(stdout, reply.Text)
		}
		if !reply.OK {
			return 1
		}
	case "events":
		ev, err := c.Events(ctx, o.after)
		if err != nil {
			return fail(err)
		}
		if o.asJSON {
			out(ev)
			return 0
		}
		for _, e := range ev.Events {
			fmt.Fprintf(stdout, "#%-5d %s  %-11s %-10s %s\n", e.N, e.Time.Local().Format("2006-01-02 15:04:05.000"), e.Level, e.Kind, e.Text)
		}
	case "history":
		h, err := c.History(ctx, time.Time{})
		if err != nil {
			return fail(err)
		}
		if o.asJSON {
			out(h)
			return 0
		}
		fmt.Fprint(stdout, historyText(h))
	default:
		fmt.Fprintf(stderr, "hactl: unknown command %q\n", cmd)
		fs.Usage()
		return 2
	}
	return 0
}

// socketPath is --socket, else the configuration's [admin] socket; with
// no configuration file at the default place, the default socket.
func socketPath(o options) (string, error) {
	if o.socket != "" {
		return o.socket, nil
	}
	cfg, err := config.Load(o.cfgPath)
	if err != nil {
		if !o.cfgGiven {
			if _, serr := os.Stat(o.cfgPath); errors.Is(serr, os.ErrNotExist) {
				return config.DefaultAdminSocket, nil
			}
		}
		return "", err
	}
	return cfg.Admin.Socket, nil
}
