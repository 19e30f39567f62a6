// hactl is had's console: the status of the node and the pair, and the
// operator's takeover, standby and recover requests.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hadcluster/had/agents"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/shm"
)

const usage = `usage: hactl [--config FILE] COMMAND
commands:
  status [--json]   both nodes' states, the heartbeat paths, the processes, the agents
  takeover          take every resource group to this node
  standby           hand every group to the peer and stand by
  recover           leave standby and take this node's own group back
  report ok|info|warning|error [MESSAGE]
                    from a daemon agent's script: write its result slot
`

func main() {
	fs := flag.NewFlagSet("hactl", flag.ContinueOnError)
	cfgPath := fs.String("config", "/etc/had/had.toml", "node configuration")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for an answer")
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	args := os.Args[1:]
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	cmd := fs.Arg(0)
	if cmd == "report" {
		// Run by a daemon agent: its slot comes from the environment had1
		// gave it, not from a configuration file; the message is free text.
		if err := agents.ReportCommand(fs.Args()[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "hactl:", err)
			os.Exit(1)
		}
		return
	}
	// Flags may also follow the command: hactl status --json.
	if fs.NArg() > 1 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			os.Exit(2)
		}
	}
	if cmd == "" {
		fs.Usage()
		os.Exit(2)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t, err := shm.Open(cfg.ShmPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hactl: is had running on this node? %v\n", err)
		os.Exit(1)
	}
	defer t.Close()

	switch cmd {
	case "status":
		st := console.Gather(t, cfg, shm.Now(), time.Now())
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(st)
			return
		}
		fmt.Print(st.Text())
	default:
		c, ok := console.Commands[cmd]
		if !ok {
			fmt.Fprintf(os.Stderr, "hactl: unknown command %q\n", cmd)
			fs.Usage()
			os.Exit(2)
		}
		reply, err := console.Request(t, c, *timeout)
		if *asJSON {
			_ = json.NewEncoder(os.Stdout).Encode(reply)
		} else if err == nil {
			fmt.Println(reply.Text)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "hactl:", err)
			os.Exit(1)
		}
		if !reply.OK {
			os.Exit(1)
		}
	}
}
