package comm

import (
	"math/rand"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

func TestLossTracker(t *testing.T) {
	tests := []struct {
		name       string
		deliver    [][2]uint64 // path, seq
		down       bool
		want0      uint64 // path 0's permille
		want1      uint64
		wantLost1  uint64
		wantNewest uint64
	}{
		{name: "nothing yet"},
		{name: "both paths, every frame", deliver: seqs(1, 10, 0, 1), want0: 0, want1: 0, wantNewest: 10},
		// Path 1 has not delivered 9 and 10 yet: on their way while it is up.
		{name: "slow path behind", deliver: append(seqs(1, 10, 0), seqs(1, 8, 1)...), want1: 0, wantNewest: 10},
		{name: "slow path down", deliver: append(seqs(1, 10, 0), seqs(1, 8, 1)...), down: true, want1: 200, wantNewest: 10},
		{name: "every other frame on path 1", deliver: append(seqs(1, 100, 0), odd(1, 100, 1)...),
			want1: 490, wantLost1: 49, wantNewest: 100}, // 2,4,…,98 lost; 100 still on its way
		{name: "window of the last 100", deliver: append(seqs(1, 300, 0), append(odd(1, 199, 1), seqs(201, 300, 1)...)...),
			want1: 0, wantLost1: 100, wantNewest: 300},
		{name: "numbering jump restarts the window", deliver: append(seqs(1, 5, 0, 1), seqs(5000, 5009, 0, 1)...),
			want0: 0, want1: 0, wantNewest: 5009},
		{name: "frames lost on every path count for each", deliver: append(seqs(1, 5, 0, 1), seqs(16, 20, 0, 1)...),
			want0: 500, want1: 500, wantLost1: 10, wantNewest: 20},
	}
	for _, tt := range tests {
		l := newLossTracker(2)
		for _, d := range tt.deliver {
			l.deliver(int(d[0]), d[1])
		}
		got0, got1 := l.permille(0, false), l.permille(1, tt.down)
		if got0 != tt.want0 || got1 != tt.want1 || l.paths[1].lost != tt.wantLost1 || l.newest != tt.wantNewest {
			t.Errorf("%s: got loss %d‰ %d‰, path 1 lost %d, newest %d; want %d‰ %d‰, %d, %d",
				tt.name, got0, got1, l.paths[1].lost, l.newest, tt.want0, tt.want1, tt.wantLost1, tt.wantNewest)
		}
	}
}

// seqs delivers from..to on each of paths, path by path for each number.
func seqs(from, to uint64, paths ...uint64) [][2]uint64 {
	var out [][2]uint64
	for s := from; s <= to; s++ {
		for _, p := range paths {
			out = append(out, [2]uint64{p, s})
		}
	}
	return out
}

// odd delivers the odd numbers of from..to on path.
func odd(from, to, path uint64) [][2]uint64 {
	var out [][2]uint64
	for s := from; s <= to; s++ {
		if s%2 == 1 {
			out = append(out, [2]uint64{path, s})
		}
	}
	return out
}

// The receiver publishes each path's loss in its slot: a path that misses
// one frame in four shows 25 %, and a path gone silent climbs to 100 % as
// the other path goes on delivering.
func TestReceiverPathLoss(t *testing.T) {
	g := newRxRig(t, 2)
	at := time.Duration(0)
	for s := uint64(1); s <= 100; s++ {
		at += 10 * time.Millisecond
		b := g.frame(wire.Frame{Seq: s})
		g.handle(0, b, at)
		if s%4 != 0 {
			g.handle(1, b, at)
		}
	}
	g.r.tick(g.at(at))
	// Frame 100 was not delivered on path 1, and it is the newest: still on its way.
	if p0, p1 := readPath(g.tbl, 0), readPath(g.tbl, 1); p0.LossPermille != 0 || p1.LossPermille != 240 || p1.Lost != 24 {
		t.Errorf("loss: got path 0 %d‰, path 1 %d‰ (%d lost); want 0‰, 240‰ (24 lost)", p0.LossPermille, p1.LossPermille, p1.Lost)
	}
	// Path 1 goes silent; path 0 goes on.
	for s := uint64(101); s <= 200; s++ {
		at += 10 * time.Millisecond
		g.handle(0, g.frame(wire.Frame{Seq: s}), at)
		g.r.tick(g.at(at))
	}
	if p1 := readPath(g.tbl, 1); p1.Up || p1.LossPermille != 1000 {
		t.Errorf("silent path: got up %v, loss %d‰; want down, 1000‰", p1.Up, p1.LossPermille)
	}
	// It comes back: the gap is counted once, bounded by the window.
	at += 10 * time.Millisecond
	b := g.frame(wire.Frame{Seq: 201})
	g.handle(0, b, at)
	g.handle(1, b, at)
	if p1 := readPath(g.tbl, 1); !p1.Up || p1.Lost != 24+lossWindow || p1.LossPermille != 990 {
		t.Errorf("path back: got up %v, lost %d, loss %d‰; want up, %d, 990‰", p1.Up, p1.Lost, p1.LossPermille, 24+lossWindow)
	}
	// A restarted receiver carries the all-time count on.
	g2 := newRxRigOn(t, g.tbl, receiverOptions(t, g.tbl, g.o.Paths))
	b = g2.frame(wire.Frame{Seq: 205})
	g2.handle(1, b, at)
	g2.handle(1, g2.frame(wire.Frame{Seq: 207}), at)
	if p1 := readPath(g.tbl, 1); p1.Lost != 24+lossWindow+1 {
		t.Errorf("after a restart: got lost %d, want %d", p1.Lost, 24+lossWindow+1)
	}
}

// Random schedules against a plain model kept in maps: the ring never
// mistakes an old number for a new one.
func TestLossTrackerRandom(t *testing.T) {
	for seed := int64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		drop := []float64{rng.Float64() * 0.3, rng.Float64() * 0.9}
		l := newLossTracker(2)
		got := []map[uint64]bool{{}, {}}
		last := []uint64{0, 0}
		lost := []uint64{0, 0}
		var base, newest uint64
		n := uint64(50 + rng.Intn(400))
		for s := uint64(1); s <= n; s++ {
			for p := range 2 {
				if rng.Float64() < drop[p] {
					continue
				}
				if base == 0 {
					base = s
				}
				l.deliver(p, s)
				got[p][s], newest = true, s
				if last[p] >= base {
					lost[p] += min(s-last[p]-1, lossWindow)
				}
				last[p] = s
			}
		}
		for p := range 2 {
			down := rng.Intn(2) == 0
			var want uint64
			if newest > 0 {
				lo := max(base, newest-min(newest, lossWindow-1))
				var miss uint64
				for s := lo; s <= newest; s++ {
					if !got[p][s] && (s < last[p] || down) {
						miss++
					}
				}
				want = miss * 1000 / (newest - lo + 1)
			}
			if g := l.permille(p, down); g != want || l.paths[p].lost != lost[p] {
				t.Fatalf("seed %d path %d (down %v): got %d‰ lost %d, want %d‰ lost %d", seed, p, down, g, l.paths[p].lost, want, lost[p])
			}
			if g := l.permille(p, down); g > 1000 {
				t.Fatalf("seed %d: %d‰", seed, g)
			}
		}
	}
}
