package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

type config struct {
	name string // put in every answer
	udp  string // "" = no UDP
	http string // "" = no HTTP
}

// run opens the listeners and serves until ctx is done.
func run(ctx context.Context, log zerolog.Logger, cfg config) error {
	if cfg.name == "" || strings.ContainsAny(cfg.name, " \t\n") {
		return fmt.Errorf("check name %q: must be non-empty without spaces", cfg.name)
	}
	var conns []*net.UDPConn
	if cfg.udp != "" {
		var err error
		if conns, err = listenUDP(cfg.udp); err != nil {
			return err
		}
	}
	var ln net.Listener
	if cfg.http != "" {
		var err error
		if ln, err = net.Listen("tcp", cfg.http); err != nil {
			closeAll(conns)
			return fmt.Errorf("listen http %s: %w", cfg.http, err)
		}
	}
	for _, c := range conns {
		log.Info().Str("udp", c.LocalAddr().String()).Msg("listening")
	}
	if ln != nil {
		log.Info().Str("http", ln.Addr().String()).Msg("listening")
	}
	err := serve(ctx, cfg.name, conns, ln)
	log.Info().Msg("stopped")
	return err
}

// serve answers on conns and ln until ctx is done, then closes them. It owns
// conns and ln.
func serve(ctx context.Context, name string, conns []*net.UDPConn, ln net.Listener) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(conns)+1)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- serveUDP(c, name)
		}()
	}
	var srv *http.Server
	if ln != nil {
		srv = &http.Server{
			Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "served by %s\n", name) }),
			ReadHeaderTimeout: 5 * time.Second,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve http: %w", err)
			}
		}()
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc: // a listener failed on its own: stop everything
	}
	if srv != nil {
		// Let requests in flight finish, but never hang a SIGTERM for long.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	closeAll(conns)
	wg.Wait()
	return err
}

func closeAll(conns []*net.UDPConn) {
	for _, c := range conns {
		_ = c.Close()
	}
}
