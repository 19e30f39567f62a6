// had-admin is the node's admin server (package admin), started and kept
// by had1: the console API on a unix socket and, opt-in, on TCP with the
// web console and /metrics; the operator's requests for had2; the alerts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hadcluster/had/admin"
	"github.com/hadcluster/had/alerts"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/logging"
	"github.com/hadcluster/had/node"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/webui"
)

func main() {
	daemon.OneProc()
	cfgPath := flag.String("config", "", "node configuration (required)")
	flag.Parse()
	if *cfgPath == "" {
		fmt.Fprintln(os.Stderr, "had-admin: --config is required")
		os.Exit(1)
	}
	n, err := node.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "had-admin: %v\n", err)
		os.Exit(1)
	}
	cfg := n.Config
	log := logging.New(os.Stderr, "admin", cfg.NodeName, cfg.LogLevel)
	daemon.SetRealtime(cfg.Realtime, "admin", log)
	t, err := shm.Open(cfg.ShmPath)
	if err != nil {
		log.Error().Err(err).Msg("open table (had1 creates it)")
		os.Exit(1)
	}
	defer t.Close()
	dispatcher := alerts.New(cfg.Alerts, log.With().Str("part", "alerts").Logger())
	srv, err := admin.New(admin.Options{Node: n, Table: t, Log: log, Alerter: dispatcher, Web: webui.Handler()})
	if err != nil {
		log.Error().Err(err).Msg("admin server not started")
		dispatcher.Close()
		os.Exit(1)
	}
	// SIGHUP is had1's to act on (a reload, after which had1 starts a new
	// admin server with the new configuration): here it is only noted.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			log.Info().Msg("SIGHUP ignored: reloading the node is had1's")
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err = srv.Run(ctx)
	stop()
	dispatcher.Close()
	switch {
	case errors.Is(err, shm.ErrLocked):
		log.Error().Err(err).Msg("another admin server is running")
		os.Exit(1)
	case err != nil:
		log.Error().Err(err).Msg("admin server failed")
		os.Exit(1)
	}
}
