package comm

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
)

// OpenPaths opens every heartbeat path of cfg, UDP paths first, then
// serial ones, in configuration order: that order is the path index the
// receiver's slots use, so the sender and the receiver of a node agree on
// it. listen selects the receiver's end of the UDP paths. Devices and
// addresses that are missing are not errors: the links open them when
// they appear.
func OpenPaths(cfg *config.Config, listen bool, log zerolog.Logger) ([]Path, error) {
	var paths []Path
	closeAll := func() {
		for _, p := range paths {
			p.Link.Close()
		}
	}
	for _, u := range cfg.UDP {
		open := DialUDP
		if listen {
			open = ListenUDP
		}
		l, err := open(u, log)
		if err != nil {
			closeAll()
			return nil, err
		}
		paths = append(paths, Path{Name: u.Name, Link: l})
	}
	for _, s := range cfg.Serial {
		paths = append(paths, Path{Name: s.Name, Link: OpenSerial(s.Name, s.Device, s.Baud, listen, log)})
	}
	if err := checkPaths(paths); err != nil {
		closeAll()
		return nil, fmt.Errorf("open paths: %w", err)
	}
	return paths, nil
}

// RunSender runs the node's sender as configured by cfg until ctx ends.
// It fails at once, with an error wrapping shm.ErrLocked, when another
// sender runs on the node.
func RunSender(ctx context.Context, cfg *config.Config, kr *wire.Keyring, t *shm.Table, log zerolog.Logger) error {
	codec, err := wire.NewCodec(kr)
	if err != nil {
		return fmt.Errorf("run sender: %w", err)
	}
	if _, ok := kr.Keys[kr.Active]; !ok {
		return fmt.Errorf("run sender: active key %d is not in the key file", kr.Active)
	}
	paths, err := OpenPaths(cfg, false, log)
	if err != nil {
		return fmt.Errorf("run sender: %w", err)
	}
	s, err := NewSender(SenderOptions{
		Cluster: cfg.ClusterID, Node: cfg.NodeID, Interval: cfg.Timers.Interval,
		Liveness: cfg.Supervise.Liveness, HangTimeout: cfg.Supervise.HangTimeout, BrainGrace: cfg.Supervise.BrainGrace,
		Table: t, Codec: codec, Paths: paths, Log: log,
	})
	if err != nil {
		for _, p := range paths {
			p.Link.Close()
		}
		return err
	}
	return s.Run(ctx)
}

// RunReceiver runs the node's receiver as configured by cfg until ctx
// ends. It fails at once, with an error wrapping shm.ErrLocked, when
// another receiver runs on the node.
func RunReceiver(ctx context.Context, cfg *config.Config, kr *wire.Keyring, t *shm.Table, log zerolog.Logger) error {
	codec, err := wire.NewCodec(kr)
	if err != nil {
		return fmt.Errorf("run receiver: %w", err)
	}
	paths, err := OpenPaths(cfg, true, log)
	if err != nil {
		return fmt.Errorf("run receiver: %w", err)
	}
	r, err := NewReceiver(ReceiverOptions{
		Cluster: cfg.ClusterID, Peer: cfg.PeerID, Warntime: cfg.Timers.Warntime, Deadtime: cfg.Timers.Deadtime,
		Liveness: cfg.Supervise.Liveness, HangTimeout: cfg.Supervise.HangTimeout,
		Table: t, Codec: codec, Paths: paths, Log: log,
	})
	if err != nil {
		for _, p := range paths {
			p.Link.Close()
		}
		return err
	}
	return r.Run(ctx)
}
