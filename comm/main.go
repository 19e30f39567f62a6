package comm

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/logging"
	"github.com/hadcluster/had/shm"
)

// RunFunc is RunSender or RunReceiver.
type RunFunc func(ctx context.Context, cfg *config.Config, kr *wire.Keyring, t *shm.Table, log zerolog.Logger) error

// Main is the whole main of had-sender and had-receiver (role "sender" or
// "receiver"): flags, configuration, key file and table, then run until
// SIGTERM or SIGINT. It exits 1 on any error, 0 after a signal.
func Main(role string, run RunFunc) {
	daemon.OneProc()
	prog := "had-" + role
	cfgPath := flag.String("config", "", "node configuration (required)")
	flag.Parse()
	if *cfgPath == "" {
		fmt.Fprintf(os.Stderr, "%s: --config is required\n", prog)
		os.Exit(1)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	log, exit := logging.NewDaemon(os.Stderr, role, cfg.NodeName, cfg.LogLevel)
	daemon.SetRealtime(cfg.Realtime, role, log)
	kr, err := config.LoadKeyring(cfg.KeyFile)
	if err != nil {
		log.Error().Err(err).Msg("load key file")
		exit(1)
	}
	t, err := shm.Open(cfg.ShmPath)
	if err != nil {
		log.Error().Err(err).Msg("open table (had1 creates it)")
		exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err = run(ctx, cfg, kr, t, log)
	stop()
	t.Close()
	switch {
	case errors.Is(err, shm.ErrLocked):
		log.Error().Err(err).Msg("another " + role + " is running")
		exit(1)
	case err != nil:
		log.Error().Err(err).Msg(role + " failed")
		exit(1)
	}
	exit(0)
}
