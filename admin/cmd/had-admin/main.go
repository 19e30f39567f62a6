// had-admin is the node's admin server (placeholder until the server
// lands): it only keeps its liveness slot, so had1 has something to keep.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
)

func main() {
	daemon.OneProc()
	if len(os.Args) != 3 || os.Args[1] != "--config" {
		fmt.Fprintln(os.Stderr, "usage: had-admin --config FILE")
		os.Exit(1)
	}
	cfg, err := config.Load(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t, err := shm.Open(cfg.ShmPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer t.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	own, _ := daemon.NewSlot(t, shm.SlotAdminSrv, cfg.Supervise.Liveness, cfg.Supervise.HangTimeout)
	tick := time.NewTicker(cfg.Supervise.Liveness)
	defer tick.Stop()
	for {
		own.Write(shm.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
