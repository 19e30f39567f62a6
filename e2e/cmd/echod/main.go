// Command echod is the sample service the test bed puts behind the VIP: it
// answers every UDP datagram with its node name followed by the request bytes,
// and every HTTP request with "served by NAME\n". It binds the wildcard
// address, so it starts answering at the VIP as soon as the VIP is added to
// the node, and exits cleanly on SIGTERM or SIGINT.
//
//	echod -name A -udp :7 -http :8080
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.name, "name", "", "node name put in every answer (required, no spaces)")
	flag.StringVar(&cfg.udp, "udp", ":7", "UDP address to answer on; empty disables UDP")
	flag.StringVar(&cfg.http, "http", ":8080", "HTTP address to answer on; empty disables HTTP")
	flag.Parse()

	log := zerolog.New(os.Stderr).With().Timestamp().Str("proc", "echod").Str("node", cfg.name).Logger()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, log, cfg); err != nil {
		log.Error().Err(err).Msg("echod failed")
		os.Exit(1)
	}
}
