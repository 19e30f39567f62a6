package admin

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/daemon"
)

// PeerEvery is how often the peer's admin server is asked for its status;
// PeerTimeout bounds one answer, so a dead peer shows within a second or two.
const (
	PeerEvery   = time.Second
	PeerTimeout = 800 * time.Millisecond
)

// peerStatus is what the server shows of the peer: its own status as its
// admin server last gave it, or why there is none.
type peerStatus struct {
	mu  sync.Mutex
	st  *console.Status
	err string
}

func (p *peerStatus) get() (*console.Status, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st, p.err
}

func (p *peerStatus) set(st *console.Status, err string) {
	p.mu.Lock()
	p.st, p.err = st, err
	p.mu.Unlock()
}

// statuser is the peer's admin server as the poller uses it.
type statuser interface {
	Status(ctx context.Context) (console.StatusResponse, error)
}

// pollPeer asks the peer for its status every PeerEvery until ctx ends.
func pollPeer(ctx context.Context, c statuser, p *peerStatus) {
	tick := daemon.NewGrid(PeerEvery)
	defer tick.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, PeerTimeout)
		resp, err := c.Status(actx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			text := err.Error()
			if errors.Is(err, context.DeadlineExceeded) {
				text = "peer admin server did not answer within " + PeerTimeout.String()
			}
			p.set(nil, text)
		default:
			p.set(&resp.Local, "")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
