// had1 is the node's first monitor daemon: it creates the shared table and
// keeps had2, the sender, the receiver, the admin server and the agents
// running. `had1 --check` validates the whole configuration and changes
// nothing. SIGHUP reloads the configuration, SIGTERM stops the node after
// handing its groups to the peer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/agents"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/had1"
	"github.com/hadcluster/had/logging"
	"github.com/hadcluster/had/node"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func main() {
	daemon.OneProc()
	// Before anything else: SIGHUP's default action would end had1.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	cfgPath := flag.String("config", "/etc/had/had.toml", "node configuration")
	check := flag.Bool("check", false, "validate the configuration, key file and tables, report every error, and exit")
	pidFile := flag.String("pidfile", os.Getenv(had1.EnvPIDFile), "write had1's PID here once the node runs (default $"+had1.EnvPIDFile+")")
	flag.Parse()

	first, err := load(*cfgPath, zerolog.Nop())
	if err != nil {
		fmt.Fprintf(os.Stderr, "had1: configuration has errors, nothing started:\n%v\n", err)
		os.Exit(had1.ExitConfig)
	}
	if *check {
		for _, err := range first.Skipped {
			fmt.Printf("warning: %v\n", err)
		}
		fmt.Printf("%s: configuration OK (%d agents)\n", *cfgPath, len(first.Agents))
		return
	}
	cfg := first.Config
	log, exit := logging.NewDaemon(os.Stderr, "had1", cfg.NodeName, cfg.LogLevel)
	daemon.SetRealtime(cfg.Realtime, "had1", log)
	first.Release = releaser{n: first.Release.(releaser).n, log: log}
	for _, err := range first.Skipped {
		log.Warn().Err(err).Msg("agent skipped")
	}
	if *pidFile != "" {
		abs, err := filepath.Abs(*pidFile)
		if err == nil {
			*pidFile = abs
		}
		// had2 inherits it and passes it to the had1 it restarts.
		os.Setenv(had1.EnvPIDFile, *pidFile)
	}
	opt := had1.Options{
		ConfigPath: *cfgPath, Log: log, Stdout: os.Stdout, Stderr: os.Stderr,
		Release: first.Release, Agents: first.Agents, Own: first.Own, Peer: first.Peer,
		Reload: func() (had1.Loaded, error) { return load(*cfgPath, log) }, PIDFile: *pidFile,
	}
	reloads := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reloads <- struct{}{}:
			default: // one is pending already
			}
		}
	}()
	opt.Reloads = reloads
	if had1.UnderSystemd() {
		opt.Notify = had1.Systemd{}
		if opt.Watchdog, err = had1.WatchdogPeriod(); err != nil {
			log.Warn().Err(err).Msg("watchdog setting unusable")
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = had1.Run(ctx, cfg, opt)
	switch {
	case errors.Is(err, had1.ErrFailedSafe):
		log.Error().Err(err).Msg("had1 exited")
		exit(had1.ExitFailSafe)
	case errors.Is(err, had1.ErrRunning) && had1.UnderSystemd():
		attach(cfg.ShmPath, log, exit)
	case err != nil:
		log.Error().Err(err).Msg("not started")
		exit(had1.ExitConfig)
	}
	exit(had1.ExitOK)
}

// load reads the whole node and its agents: at start, and on every reload.
// log is what the tables log with when had1 releases them itself.
func load(path string, log zerolog.Logger) (had1.Loaded, error) {
	n, err := node.Load(path)
	if err != nil {
		return had1.Loaded{}, err
	}
	specs, skipped := agents.List(n.Config, path, n.Config.BinDir)
	l := had1.Loaded{Config: n.Config, Skipped: skipped}
	for _, s := range specs {
		l.Agents = append(l.Agents, had1.Agent{Index: s.Index, Name: s.Name, Argv: s.Argv, Env: s.Env,
			Hang: s.Hang, Critical: s.Critical, Service: s.Service, Config: s.Agent})
	}
	if n.Recover != nil {
		l.Own = lines(n.Recover.String())
	}
	if n.Takeover != nil {
		l.Peer = lines(n.Takeover.String())
	}
	l.Release = releaser{n: n, log: log}
	return l, nil
}

// lines splits a table's canonical form into its entries.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// attach hands systemd's unit over to the had1 that already runs this node
// (started by had2, or left running when the unit failed: KillMode=process
// keeps the node's processes): MAINPID names it, READY=1 makes the unit
// active, and this process leaves. Without that, `systemctl start` would
// fail against a node that runs.
func attach(shmPath string, log zerolog.Logger, exit func(int)) {
	t, err := shm.Open(shmPath)
	if err != nil {
		log.Error().Err(err).Msg("not started: another had1 runs, and its table is unreadable")
		exit(had1.ExitConfig)
	}
	defer t.Close()
	r, err := t.Read(shm.SlotHad1)
	d := slots.ParseDaemon(r)
	if err != nil && !errors.Is(err, shm.ErrStale) || d.PID <= 0 {
		log.Error().Err(err).Msg("not started: another had1 runs, and its slot is unreadable")
		exit(had1.ExitConfig)
	}
	if got, err := daemon.StartTime(int(d.PID)); err != nil || got != d.Start {
		log.Error().Int32("pid", d.PID).Msg("not started: another had1 holds the table, but its slot names a process that is gone")
		exit(had1.ExitConfig)
	}
	if err := (had1.Systemd{}).Notify(fmt.Sprintf("MAINPID=%d\nREADY=1\nSTATUS=attached to the running had1", d.PID)); err != nil {
		log.Error().Err(err).Msg("not started: another had1 runs, and systemd was not told")
		exit(had1.ExitConfig)
	}
	log.Warn().Int32("pid", d.PID).Msg("another had1 runs this node: handed the unit's main process over to it")
}

// releaser stops both tables from had1, standing in for had2.
type releaser struct {
	n   *node.Node
	log zerolog.Logger
}

func (r releaser) ReleaseAll(ctx context.Context) error {
	o, err := node.OpenOS()
	if err != nil {
		return err
	}
	defer o.Close()
	return r.n.ReleaseAll(ctx, r.log, o.Deps)
}
