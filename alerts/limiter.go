package alerts

import (
	"slices"
	"time"
)

// limiter is one channel's rate limit: at most one alert per key per
// every. It is pure (the caller passes the time) and not safe for
// concurrent use; each channel's goroutine owns its own.
//
// An event that comes too soon is held: counted, and kept as the latest
// of its key. The next alert of that key carries the count. If the window
// ends with events held, flush sends the latest one, so that the last
// state of a flapping path ("lan down", "lan up", "lan down") is never the
// one that is hidden. A key whose window ended with nothing held is
// forgotten, so the map holds only the keys seen in the last window.
type limiter struct {
	every   time.Duration // 0: no limit
	keys    map[limitKey]*window
	pruneAt int // len(keys) at which admit forgets idle keys
}

// minPrune: below this many keys admit does not look for idle ones.
const minPrune = 64

// limitKey: the same event text from the same node is the same alert.
type limitKey struct{ node, kind, text string }

type window struct {
	sent time.Time // when the last alert of this key went out
	held int       // events held back since sent
	last Event     // the latest of them
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, keys: make(map[limitKey]*window), pruneAt: minPrune}
}

func keyOf(e Event) limitKey { return limitKey{e.Node, e.Kind, e.Text} }

// admit decides on e at now. ok: send a, which carries the count of
// events held since the last one; !ok: e is held.
func (l *limiter) admit(e Event, now time.Time) (a alert, ok bool) {
	if l.every <= 0 {
		return alert{Event: e}, true
	}
	k := keyOf(e)
	w := l.keys[k]
	// A clock that went back (now before sent) opens the window rather
	// than holding alerts until the clock catches up.
	if w == nil || now.Sub(w.sent) >= l.every || now.Before(w.sent) {
		a = alert{Event: e}
		if w != nil {
			a.held, a.since = w.held, w.sent
		}
		l.keys[k] = &window{sent: now}
		if len(l.keys) >= l.pruneAt {
			l.prune(now)
		}
		return a, true
	}
	w.held++
	w.last = e
	return alert{}, false
}

// prune forgets the keys whose window has ended with nothing held: texts
// with changing numbers in them would otherwise grow the map forever.
func (l *limiter) prune(now time.Time) {
	for k, w := range l.keys {
		if w.held == 0 && (now.Sub(w.sent) >= l.every || now.Before(w.sent)) {
			delete(l.keys, k)
		}
	}
	l.pruneAt = max(minPrune, 2*len(l.keys))
}

// flush returns the alerts whose window has ended at now with events
// held: the latest held event of each, carrying the count of the others.
// It forgets keys whose window ended with nothing held.
func (l *limiter) flush(now time.Time) []alert {
	var out []alert
	for k, w := range l.keys {
		if now.Sub(w.sent) < l.every && !now.Before(w.sent) {
			continue
		}
		if w.held == 0 {
			delete(l.keys, k)
			continue
		}
		out = append(out, alert{Event: w.last, held: w.held - 1, since: w.sent})
		l.keys[k] = &window{sent: now}
	}
	slices.SortFunc(out, func(a, b alert) int { return a.Time.Compare(b.Time) })
	return out
}

// next is when flush has something to send; zero when nothing is held.
func (l *limiter) next() time.Time {
	var t time.Time
	for _, w := range l.keys {
		if w.held == 0 {
			continue
		}
		if due := w.sent.Add(l.every); t.IsZero() || due.Before(t) {
			t = due
		}
	}
	return t
}

// size is the number of keys remembered.
func (l *limiter) size() int { return len(l.keys) }
