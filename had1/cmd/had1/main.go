// had1 is the node's first monitor daemon: it creates the shared table and
// keeps had2, the sender and the receiver running. `had1 --check` validates
// the whole configuration and changes nothing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/agents"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/had1"
	"github.com/hadcluster/had/logging"
	"github.com/hadcluster/had/node"
)

func main() {
	daemon.OneProc()
	cfgPath := flag.String("config", "/etc/had/had.toml", "node configuration")
	check := flag.Bool("check", false, "validate the configuration, key file and tables, report every error, and exit")
	flag.Parse()

	n, err := node.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "had1: configuration has errors, nothing started:\n%v\n", err)
		os.Exit(had1.ExitConfig)
	}
	specs, skipped := agents.List(n.Config, *cfgPath, n.Config.BinDir)
	if *check {
		for _, err := range skipped {
			fmt.Printf("warning: %v\n", err)
		}
		fmt.Printf("%s: configuration OK (%d agents)\n", *cfgPath, len(specs))
		return
	}
	cfg := n.Config
	log := logging.New(os.Stderr, "had1", cfg.NodeName, cfg.LogLevel)
	for _, err := range skipped {
		log.Warn().Err(err).Msg("agent skipped")
	}
	var agentList []had1.Agent
	for _, s := range specs {
		agentList = append(agentList, had1.Agent{Index: s.Index, Name: s.Name, Argv: s.Argv, Env: s.Env,
			Hang: s.Hang, Critical: s.Critical, Service: s.Service})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = had1.Run(ctx, cfg, had1.Options{
		ConfigPath: *cfgPath, Log: log, Stdout: os.Stdout, Stderr: os.Stderr,
		Release: releaser{n: n, log: log},
		Agents:  agentList,
	})
	switch {
	case errors.Is(err, had1.ErrFailedSafe):
		log.Error().Err(err).Msg("had1 exited")
		os.Exit(had1.ExitFailSafe)
	case err != nil:
		log.Error().Err(err).Msg("not started")
		os.Exit(had1.ExitConfig)
	}
}

// releaser stops both tables from had1, standing in for had2.
type releaser struct {
	n   *node.Node
	log zerolog.Logger
}

func (r releaser) ReleaseAll(ctx context.Context) error {
	o, err := node.OpenOS()
	if err != nil {
		return err
	}
	defer o.Close()
	return r.n.ReleaseAll(ctx, r.log, o.Deps)
}
