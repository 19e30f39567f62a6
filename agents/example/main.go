// Command example is a daemon agent written with agents.Reporter: had1
// starts it (kind "daemon") with the HAD_* variables set, and it reports
// ERROR while a file exists, OK otherwise: a switch an operator can flip
// by hand (touch /run/had/fail-web) to move a service away.
//
//	[[agent]]
//	name = "switch"
//	kind = "daemon"
//	critical = true
//	command = ["/usr/local/lib/had/example", "/run/had/fail-web"]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hadcluster/had/agents"
	"github.com/hadcluster/had/shm"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: example FILE")
		os.Exit(2)
	}
	file := os.Args[1]
	r, err := agents.OpenReporter()
	if err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
	defer r.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	tick := time.NewTicker(r.Interval())
	defer tick.Stop()
	for {
		value, text := shm.OK, file+" absent"
		if _, err := os.Stat(file); err == nil {
			value, text = shm.Error, file+" present"
		}
		if err := r.Report(value, text); err != nil {
			fmt.Fprintln(os.Stderr, "example:", err)
			os.Exit(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
