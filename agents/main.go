package agents

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/logging"
	"github.com/hadcluster/had/shm"
)

// Exit codes of had-agent. With --once it exits with the Nagios code of
// the result instead (0 OK, 1 WARNING, 2 ERROR).
const (
	ExitOK    = 0
	ExitError = 1 // bad arguments or configuration, no table, or the agent runs already
)

// Main is the whole of had-agent:
//
//	had-agent --config PATH --agent NAME [--once]
//
// It loads the configuration, finds the agent (List: configured or from
// the agents directory), opens the table, takes the role lock on the
// agent's result slot and runs it until SIGTERM or SIGINT (exit 0). With
// --once it runs one check, prints it and exits with its Nagios code,
// touching no table: a way for the operator to try an agent by hand.
func Main() {
	daemon.OneProc()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(Program, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "node configuration (required)")
	name := fs.String("agent", "", "the agent to run (required)")
	once := fs.Bool("once", false, "run one check, print it, exit with its Nagios code (no table)")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	if *cfgPath == "" || *name == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: %s --config PATH --agent NAME [--once]\n", Program)
		return ExitError
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", Program, err)
		return ExitError
	}
	log := logging.New(stderr, "agent", cfg.NodeName, cfg.LogLevel).With().Str("agent", *name).Logger()
	specs, skipped := List(cfg, *cfgPath, "")
	var spec *Spec
	for i := range specs {
		if specs[i].Name == *name {
			spec = &specs[i]
		}
	}
	if spec == nil {
		for _, e := range skipped {
			log.Warn().Err(e).Msg("agents directory file skipped")
		}
		log.Error().Msg("no such agent in the configuration or the agents directory")
		return ExitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *once {
		return runOnce(ctx, *spec, stdout, log)
	}

	t, err := shm.Open(cfg.ShmPath)
	if err != nil {
		log.Error().Err(err).Msg("open table (had1 creates it)")
		return ExitError
	}
	defer t.Close()
	slot := spec.ResultSlot()
	unlock, err := t.Lock(slot)
	if errors.Is(err, shm.ErrLocked) {
		log.Error().Err(err).Msg("another agent " + *name + " is running")
		return ExitError
	} else if err != nil {
		log.Error().Err(err).Msg("lock result slot")
		return ExitError
	}
	defer unlock()
	r, err := NewRunner(*spec, TableSlot{Table: t, Index: slot}, log)
	if err != nil {
		log.Error().Err(err).Msg("agent not runnable")
		return ExitError
	}
	log.Info().Str("kind", string(spec.Kind)).Int("slot", slot).Dur("interval", spec.Interval).Dur("timeout", spec.Timeout).Msg("agent started")
	r.Run(ctx)
	log.Info().Msg("agent stopped")
	return ExitOK
}

// runOnce runs one check and prints "VALUE: text".
func runOnce(ctx context.Context, spec Spec, stdout io.Writer, log zerolog.Logger) int {
	r, err := NewRunner(spec, nil, log)
	if err != nil {
		log.Error().Err(err).Msg("agent not runnable")
		return ExitError
	}
	res := r.check(ctx)
	fmt.Fprintf(stdout, "%s: %s\n", res.Value, res.Text)
	switch res.Value {
	case shm.OK, shm.Information:
		return nagiosOK
	case shm.Warning:
		return nagiosWarning
	}
	return nagiosCritical
}
