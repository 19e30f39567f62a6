package comm

import (
	"errors"
	"fmt"

	"github.com/hadcluster/had/shm"
)

// ErrBusy: a path could not take a frame at once and dropped it. A
// heartbeat is worth nothing late, and a stuck path must not hold up the
// others.
var ErrBusy = errors.New("comm: path busy, frame dropped")

// Link is one heartbeat path to the peer. The sender only sends on it and
// the receiver only receives, so the two may be different processes each
// with its own Link over the same device.
//
// Send and Recv may run at the same time, but neither concurrently with
// itself.
type Link interface {
	// Send hands one encoded frame to the path without blocking for
	// long; it does not keep frame after it returns. A path that cannot
	// take the frame now drops it and returns ErrBusy; other errors say
	// the path is failing (it keeps trying to recover by itself).
	Send(frame []byte) error
	// Recv blocks until the next datagram or serial payload from the
	// peer and returns it; the bytes are valid until the next Recv. A
	// link recovers from its own failures (a vanished device, a closed
	// socket) inside Recv, so Recv returns an error only once the link is
	// closed (net.ErrClosed).
	Recv() ([]byte, error)
	// Close ends the link; a blocked Recv returns.
	Close() error
}

// Drops counts input a link discarded before it was a frame at all.
type Drops struct {
	Foreign uint64 // datagrams from an address other than the peer's
	Noise   uint64 // serial line garbage: bytes outside frames, and bad CRCs
}

// dropper is a Link that counts what it discards; the receiver adds its
// counts to the table.
type dropper interface{ Dropped() Drops }

// Path is a Link with the name it has in logs and in the table. The
// position of a path in the list given to the sender or receiver is its
// index: the receiver writes path i to slot shm.SlotPath0+i.
type Path struct {
	Name string
	Link Link
}

func checkPaths(paths []Path) error {
	if len(paths) == 0 {
		return errors.New("no heartbeat paths")
	}
	if len(paths) > shm.MaxPaths {
		return fmt.Errorf("%d heartbeat paths, at most %d fit the table", len(paths), shm.MaxPaths)
	}
	for i, p := range paths {
		if p.Link == nil {
			return fmt.Errorf("path %d (%s) has no link", i, p.Name)
		}
	}
	return nil
}
