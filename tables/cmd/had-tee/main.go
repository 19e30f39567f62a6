// had-tee is the "tee process" of seed 003: a UDP relay bound to a virtual
// IP that forwards every datagram it receives, payload unchanged, to each
// destination, typically the application's receivers on both nodes. The
// tee entry of a TAKEOVER or RECOVER table starts and stops it (see
// `go doc github.com/hadcluster/had/tables`); it can run by hand too:
//
//	had-tee --listen 10.213.0.100:5000 --to 10.213.0.1:5001,10.213.0.2:5001 [--pidfile FILE] [--ready-fd N]
//
// It binds with IP_FREEBIND, writes the pid file once bound, logs JSON on
// stderr, and exits 0 on SIGTERM or SIGINT (1 when it cannot start).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/logging"
	"github.com/hadcluster/had/tables"
)

func main() {
	daemon.OneProc()
	listen := flag.String("listen", "", "ADDRESS:PORT to receive on (required)")
	to := flag.String("to", "", "comma-separated ADDRESS:PORT destinations (required)")
	pidfile := flag.String("pidfile", "", "write the pid here once bound")
	readyFD := flag.Int("ready-fd", -1, "write READY to this inherited file descriptor once bound")
	level := flag.String("log-level", "info", "zerolog level")
	flag.Parse()
	cfg, err := tables.ParseTeeConfig(*listen, *to)
	if err != nil {
		fmt.Fprintf(os.Stderr, "had-tee: %v\n", err)
		os.Exit(2)
	}
	cfg.PidFile = *pidfile
	if *readyFD >= 0 {
		cfg.Ready = os.NewFile(uintptr(*readyFD), "ready")
	}
	host, _ := os.Hostname()
	log := logging.New(os.Stderr, "had-tee", host, *level)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	_, err = tables.RunTee(ctx, cfg, log)
	stop()
	if err != nil {
		log.Error().Err(err).Msg("tee failed")
		os.Exit(1)
	}
}
