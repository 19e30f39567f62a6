package admin

import (
	"sync"
	"time"

	"github.com/hadcluster/had/console"
)

// SampleEvery is the history's interval: the plots' resolution.
const SampleEvery = time.Second

// history keeps the newest samples in a ring; safe for concurrent use.
type history struct {
	mu   sync.Mutex
	ring []console.Sample
	next int // where the next sample goes
	full bool
}

// newHistory keeps span worth of samples taken every SampleEvery (at
// least one).
func newHistory(span time.Duration) *history {
	return &history{ring: make([]console.Sample, max(int(span/SampleEvery), 1))}
}

func (h *history) add(s console.Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring[h.next] = s
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
}

// since returns the samples taken after t, oldest first (all when t is zero).
func (h *history) since(t time.Time) []console.Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []console.Sample{}
	start, n := 0, h.next
	if h.full {
		start, n = h.next, len(h.ring)
	}
	for i := range n {
		s := h.ring[(start+i)%len(h.ring)]
		if s.T.After(t) {
			out = append(out, s)
		}
	}
	return out
}

// sampleOf makes a sample of the local status and the peer's.
func sampleOf(local console.Status, peer *console.Status) console.Sample {
	s := console.Sample{T: local.Taken, Local: local.Perf, State: local.Node.State, PeerState: local.PeerState(),
		Paths: make([]console.PathSample, 0, len(local.Paths))}
	for _, p := range local.Paths {
		s.Paths = append(s.Paths, console.PathSample{Name: p.Name, Up: p.Up, RTTMs: p.RTTMs, LossPercent: p.LossPercent})
	}
	if peer != nil {
		s.Peer = peer.Perf
	}
	return s
}
