// Package node loads everything one node is configured with — the
// configuration file, the key file, and the RECOVER and TAKEOVER tables —
// all or nothing, and binds the tables to the operating system. had1 (and
// its --check), had2, the sender and the receiver all start here, so they
// agree on what a valid node is.
package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/tables"
)

// Node is a whole, valid node configuration.
type Node struct {
	Config   *config.Config
	Keyring  *wire.Keyring
	Recover  *tables.Table // nil when this node owns no group
	Takeover *tables.Table // nil when the peer owns no group
}

// Load reads the configuration at path and everything it names. The error
// lists every problem found (each "file:line: field: message"), so an
// operator fixes them in one go; on error nothing is returned.
func Load(path string) (*Node, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err // the other files' names come from the configuration
	}
	if cfg.BinDir == "" {
		if exe, err := os.Executable(); err == nil {
			cfg.BinDir = filepath.Dir(exe)
		}
	}
	n := &Node{Config: cfg}
	var errs []error
	if n.Keyring, err = config.LoadKeyring(cfg.KeyFile); err != nil {
		errs = append(errs, err)
	}
	if cfg.OwnGroup() {
		if n.Recover, err = tables.ParseFile(cfg.RecoverTable); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.PeerGroup() {
		if n.Takeover, err = tables.ParseFile(cfg.TakeoverTable); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return n, nil
}

// OS is the operating system as the tables use it.
type OS struct {
	Deps      tables.Deps
	announcer *tables.RawAnnouncer
}

// OpenOS opens the netlink and packet sockets the tables need, in the
// calling process's network namespace.
func OpenOS() (*OS, error) {
	ann, err := tables.NewRawAnnouncer(nil)
	if err != nil {
		return nil, fmt.Errorf("open OS for tables: %w", err)
	}
	return &OS{Deps: tables.Deps{Addrs: tables.NewNetlinkAddrs(nil), Announcer: ann, Runner: tables.NewShellRunner(),
		Watcher: tables.NewNetlinkWatcher(nil)}, announcer: ann}, nil
}

// Close releases the sockets.
func (o *OS) Close() error { return o.announcer.Close() }

// Bound is a table with the logger and OS it runs with: what had2 runs.
type Bound struct {
	Table *tables.Table
	Log   zerolog.Logger
	Deps  tables.Deps
}

// Start runs the table forwards.
func (b *Bound) Start(ctx context.Context) error { return b.Table.Start(ctx, b.Log, b.Deps) }

// Stop runs the table backwards.
func (b *Bound) Stop(ctx context.Context) error { return b.Table.Stop(ctx, b.Log, b.Deps) }

// Reannounce re-sends the table's gratuitous ARPs.
func (b *Bound) Reannounce(ctx context.Context) error { return b.Table.Reannounce(ctx, b.Log, b.Deps) }

// Tables returns this node's two tables (nil where there is none), bound.
func (n *Node) Tables(log zerolog.Logger, deps tables.Deps) (own, peer *Bound) {
	if n.Recover != nil {
		own = &Bound{Table: n.Recover, Log: log, Deps: deps}
	}
	if n.Takeover != nil {
		peer = &Bound{Table: n.Takeover, Log: log, Deps: deps}
	}
	return own, peer
}

// ReleaseAll stops both tables, the peer's first: had1's last resort when
// had2 cannot do it.
func (n *Node) ReleaseAll(ctx context.Context, log zerolog.Logger, deps tables.Deps) error {
	var errs []error
	for _, t := range []*tables.Table{n.Takeover, n.Recover} {
		if t != nil {
			if err := t.Stop(ctx, log, deps); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Reconcile removes, at a fresh start, every virtual address of either
// table that an interface still holds: a node that has just started holds
// no group, so an address left from before (a crash, a reboot without
// cleanup) would answer for the peer.
func (n *Node) Reconcile(log zerolog.Logger, addrs tables.Addrs) error {
	var errs []error
	for _, t := range []*tables.Table{n.Recover, n.Takeover} {
		if t == nil {
			continue
		}
		for _, v := range t.VIPs() {
			has, err := addrs.Has(v.Dev, v.Prefix)
			if err != nil || !has {
				continue // a missing interface is the table's problem at start
			}
			if err := addrs.Del(v.Dev, v.Prefix); err != nil {
				errs = append(errs, fmt.Errorf("reconcile %v on %s: %w", v.Prefix, v.Dev, err))
				continue
			}
			log.Warn().Str("vip", v.Prefix.String()).Str("dev", v.Dev).Msg("removed an address this node does not hold")
		}
	}
	return errors.Join(errs...)
}
