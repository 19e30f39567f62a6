package testbed

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// eventLog records timestamped observations in arrival order and lets a
// caller wait for the first one after an instant that matches: the common
// part of the ARP capture and the address watch. Times are wall-clock
// (time.Now's clock), like the prober's and the had logs'.
type eventLog[T any] struct {
	what    string // for errors: "arp packet", "address event"
	mu      sync.Mutex
	at      []time.Time // non-decreasing
	items   []T
	changed chan struct{}
	stopped chan struct{}
}

func newEventLog[T any](what string) *eventLog[T] {
	return &eventLog[T]{what: what, changed: make(chan struct{}), stopped: make(chan struct{})}
}

// add records v, seen at at. Out-of-order times (kernel timestamps of
// packets read in a batch are in order; a clock step is not) are clamped to
// the last one, so that the search in first stays valid.
func (l *eventLog[T]) add(at time.Time, v T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.at); n > 0 && at.Before(l.at[n-1]) {
		at = l.at[n-1]
	}
	l.at = append(l.at, at)
	l.items = append(l.items, v)
	close(l.changed)
	l.changed = make(chan struct{})
}

// stop ends every wait in first; recorded items stay readable.
func (l *eventLog[T]) stop() { close(l.stopped) }

// all returns a copy of every item with its time.
func (l *eventLog[T]) all() ([]time.Time, []T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.at...), append([]T(nil), l.items...)
}

// first waits up to timeout for the first item seen strictly after the
// instant after for which match holds, and returns it with its time.
func (l *eventLog[T]) first(after time.Time, timeout time.Duration, match func(T) bool) (time.Time, T, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	l.mu.Lock()
	i := sort.Search(len(l.at), func(i int) bool { return l.at[i].After(after) })
	l.mu.Unlock()
	for {
		l.mu.Lock()
		for ; i < len(l.items); i++ {
			if match(l.items[i]) {
				at, v := l.at[i], l.items[i]
				l.mu.Unlock()
				return at, v, nil
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-l.stopped:
			var zero T
			return time.Time{}, zero, fmt.Errorf("first %s: stopped: %w", l.what, ErrTimeout)
		case <-deadline.C:
			var zero T
			return time.Time{}, zero, fmt.Errorf("first %s: %w after %v", l.what, ErrTimeout, timeout)
		}
	}
}
