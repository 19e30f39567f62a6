// had2 is the node's second monitor daemon: it runs the state machine and
// the TAKEOVER and RECOVER tables, and keeps had1 running. had1 starts it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/had1"
	"github.com/hadcluster/had/had2"
	"github.com/hadcluster/had/logging"
	"github.com/hadcluster/had/node"
	"github.com/hadcluster/had/shm"
)

func main() {
	daemon.OneProc()
	cfgPath := flag.String("config", "/etc/had/had.toml", "node configuration")
	flag.Parse()
	n, err := node.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "had2: %v\n", err)
		os.Exit(had1.ExitConfig)
	}
	cfg := n.Config
	log, exit := logging.NewDaemon(os.Stderr, "had2", cfg.NodeName, cfg.LogLevel)
	daemon.SetRealtime(cfg.Realtime, "had2", log)
	exit(run(n, *cfgPath, log))
}

// run is had2's life once it has a logger; it returns the exit code.
func run(n *node.Node, cfgPath string, log zerolog.Logger) int {
	cfg := n.Config
	t, err := shm.Open(cfg.ShmPath)
	if err != nil {
		log.Error().Err(err).Msg("open table (had1 creates it)")
		return had1.ExitConfig
	}
	defer t.Close()
	release, err := t.Lock(shm.SlotHad2)
	if err != nil {
		log.Error().Err(err).Msg("another had2 runs on this node")
		return had1.ExitConfig
	}
	defer release()
	o, err := node.OpenOS()
	if err != nil {
		log.Error().Err(err).Msg("open OS")
		return had1.ExitConfig
	}
	defer o.Close()
	own, peer := n.Tables(log, o.Deps)
	opt := had2.Options{
		Config: cfg, ConfigPath: cfgPath, Table: t, Log: log, Stdout: os.Stdout, Stderr: os.Stderr,
		// Under systemd, systemd restarts had1 (deploy/systemd/had.service);
		// two restarters would race for the table's lock.
		SuperviseHad1: os.Getenv(had1.EnvSupervisor) != "systemd",
		WatchHad1Only: os.Getenv(had1.EnvSupervisor) == "systemd",
		Had1Absence:   10 * time.Second,
		Reconcile:     func(context.Context) error { return n.Reconcile(log, o.Deps.Addrs) },
	}
	if own != nil {
		opt.Own = own
	}
	if peer != nil {
		opt.Peer = peer
	}
	if cfg.Fence.Command != "" {
		opt.Fence = func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, cfg.Fence.Timeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, "/bin/sh", "-c", cfg.Fence.Command).CombinedOutput()
			if err != nil {
				return fmt.Errorf("fence %q: %w: %s", cfg.Fence.Command, err, out)
			}
			return nil
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := had2.Run(ctx, opt); err != nil {
		log.Error().Err(err).Msg("had2 exited")
		if errors.Is(err, had2.ErrFailSafe) {
			return had1.ExitFailSafe
		}
		return had1.ExitConfig
	}
	return had1.ExitOK
}
