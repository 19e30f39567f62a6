// had-receiver receives the peer's heartbeats and control messages on
// every path and writes them to the node's table for had2 (SPEC §1, §3).
// had1 starts and supervises it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hadcluster/had/comm"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/logging"
	"github.com/hadcluster/had/node"
	"github.com/hadcluster/had/shm"
)

func main() {
	node.OneProc()
	cfgPath := flag.String("config", "", "node configuration (required)")
	flag.Parse()
	if *cfgPath == "" {
		fmt.Fprintln(os.Stderr, "had-receiver: --config is required")
		os.Exit(1)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "had-receiver: %v\n", err)
		os.Exit(1)
	}
	log := logging.New(os.Stderr, "receiver", cfg.NodeName, cfg.LogLevel)
	kr, err := config.LoadKeyring(cfg.KeyFile)
	if err != nil {
		log.Error().Err(err).Msg("load key file")
		os.Exit(1)
	}
	t, err := shm.Open(cfg.ShmPath)
	if err != nil {
		log.Error().Err(err).Msg("open table (had1 creates it)")
		os.Exit(1)
	}
	defer t.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := comm.RunReceiver(ctx, cfg, kr, t, log); err != nil {
		if errors.Is(err, shm.ErrLocked) {
			log.Error().Err(err).Msg("another receiver is running")
		} else {
			log.Error().Err(err).Msg("receiver failed")
		}
		stop()
		t.Close()
		os.Exit(1)
	}
}
