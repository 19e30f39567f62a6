package comm

// Per-path loss (SPEC §7: each path's loss in the console). The peer sends
// every frame on every path and numbers its frames one by one, so the
// newest sequence number seen on any path says how many frames the peer
// has sent, and each path's share of them is what it delivered.

// lossWindow is how many of the peer's latest frames a path's loss figure
// covers: 10 s of heartbeats at the default interval.
const lossWindow = 100

// lossRing must hold lossWindow numbers; a power of two keeps % cheap.
const lossRing = 128

// pathLoss is what one path delivered of the peer's latest frames.
type pathLoss struct {
	got  [lossRing]uint64 // sequence number s sits at got[s%lossRing] once delivered
	last uint64           // the newest number this path delivered (0: none yet)
	lost uint64           // frames this path missed, all time (for the counter)
}

// lossTracker keeps every path's deliveries within one epoch. Pure: the
// receiver feeds it under its lock.
type lossTracker struct {
	base   uint64 // the first number counted: frames before it were never seen by this receiver
	newest uint64 // the newest number seen on any path
	paths  []pathLoss
}

func newLossTracker(paths int) *lossTracker { return &lossTracker{paths: make([]pathLoss, paths)} }

// reset forgets the window (a new epoch, or the numbering jumped), keeping
// the all-time counts.
func (l *lossTracker) reset() {
	l.base, l.newest = 0, 0
	for i := range l.paths {
		lost := l.paths[i].lost
		l.paths[i] = pathLoss{lost: lost}
	}
}

// deliver records that path i delivered frame seq of the current epoch.
// A frame far beyond the newest (a sender that restarted its numbering
// after a torn slot) starts the window again rather than counting a
// thousand frames lost.
func (l *lossTracker) deliver(i int, seq uint64) {
	if l.base == 0 || seq > l.newest+lossWindow {
		l.reset()
		l.base = seq
	}
	if seq < l.base {
		return // older than anything counted: a late copy from before this receiver
	}
	l.newest = max(l.newest, seq)
	p := &l.paths[i]
	p.got[seq%lossRing] = seq
	if seq > p.last {
		// Every path delivers in order (a socket, a serial line): numbers
		// skipped since its last frame are lost on it. A path back from a
		// long silence adds at most a window: the silence itself is
		// counted as the path going down.
		if p.last >= l.base {
			p.lost += min(seq-p.last-1, lossWindow)
		}
		p.last = seq
	}
}

// permille is how many of the latest lossWindow frames (fewer right after
// a start) path i did not deliver, in thousandths. A frame newer than the
// path's last one is still on its way while the path is up and counts as
// lost once the path is down.
func (l *lossTracker) permille(i int, down bool) uint64 {
	if l.base == 0 || l.newest < l.base {
		return 0
	}
	lo := l.base
	if l.newest >= lossWindow && l.newest-lossWindow+1 > lo {
		lo = l.newest - lossWindow + 1
	}
	p := &l.paths[i]
	var lost uint64
	for s := lo; s <= l.newest; s++ {
		if p.got[s%lossRing] != s && (s < p.last || down) {
			lost++
		}
	}
	return lost * 1000 / (l.newest - lo + 1)
}
