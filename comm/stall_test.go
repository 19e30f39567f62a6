package comm

import (
	"testing"
	"time"

	"github.com/hadcluster/had/comm/commtest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func TestStallThreshold(t *testing.T) {
	tests := []struct{ period, want time.Duration }{
		{350 * time.Millisecond, 21875 * time.Microsecond},
		{40 * time.Millisecond, 2500 * time.Microsecond},
		{10 * time.Millisecond, time.Millisecond}, // the floor
	}
	for _, tt := range tests {
		if got := stallThreshold(tt.period); got != tt.want {
			t.Errorf("stallThreshold(%v): got %v, want %v", tt.period, got, tt.want)
		}
	}
}

func TestStallMeter(t *testing.T) {
	ms := int64(time.Millisecond)
	m := stallMeter{threshold: 10 * ms}
	tests := []struct {
		name          string
		planned, woke int64
		lag           int64
		count         uint64
		longest       int64
	}{
		{"early (a bell)", 100 * ms, 90 * ms, 0, 0, 0},
		{"on time", 100 * ms, 100 * ms, 0, 0, 0},
		{"timer slop", 100 * ms, 110 * ms, 0, 0, 0}, // at the threshold: not a stall
		{"stall", 200 * ms, 245 * ms, 45 * ms, 1, 45 * ms},
		{"shorter stall", 300 * ms, 320 * ms, 20 * ms, 2, 45 * ms},
		{"longer stall", 400 * ms, 900 * ms, 500 * ms, 3, 500 * ms},
	}
	for _, tt := range tests {
		if got := m.woke(tt.planned, tt.woke); got != tt.lag || m.count != tt.count || m.longest != tt.longest {
			t.Errorf("%s: got lag %v count %d longest %v; want %v, %d, %v", tt.name,
				time.Duration(got), m.count, time.Duration(m.longest), time.Duration(tt.lag), tt.count, time.Duration(tt.longest))
		}
	}
	// The first stall is logged, covering the stalls so far; the next ones
	// only after stallLogEvery.
	if ok, n := m.shouldLog(time.Second.Nanoseconds()); !ok || n != 3 {
		t.Errorf("first log: got %v, %d; want true, 3", ok, n)
	}
	m.woke(0, 50*ms)
	if ok, _ := m.shouldLog(2 * time.Second.Nanoseconds()); ok {
		t.Error("second log within stallLogEvery: got true")
	}
	if ok, n := m.shouldLog(time.Second.Nanoseconds() + stallLogEvery); !ok || n != 1 {
		t.Errorf("log after stallLogEvery: got %v, %d; want true, 1", ok, n)
	}
}

func TestSilence(t *testing.T) {
	ms := int64(time.Millisecond)
	dead := 350 * ms
	grace := int64(stallGrace)
	type step struct {
		op   string // "heard", "stall", "check"
		at   int64  // heard/check time; the lag for "stall"
		over bool   // for "check"
	}
	tests := []struct {
		name  string
		steps []step
		due   int64 // the deadline at the end
	}{
		{"no stall: the dead time", []step{{"heard", 0, false}, {"check", dead - 1, false}, {"check", dead, true}}, dead},
		{"a stall moves the deadline by its lag and the grace",
			[]step{{"heard", 0, false}, {"stall", 100 * ms, false}, {"check", dead + 100*ms, false}, {"check", dead + 100*ms + grace, true}},
			dead + 100*ms + grace},
		{"only the longest stall counts, never the sum",
			[]step{{"heard", 0, false}, {"stall", 100 * ms, false}, {"stall", 40 * ms, false}, {"stall", 60 * ms, false}},
			dead + 100*ms + grace},
		{"a later, longer stall replaces it",
			[]step{{"heard", 0, false}, {"stall", 40 * ms, false}, {"stall", 100 * ms, false}},
			dead + 100*ms + grace},
		{"hearing the peer clears the credit",
			[]step{{"heard", 0, false}, {"stall", 100 * ms, false}, {"heard", 200 * ms, false}, {"check", 200*ms + dead, true}},
			200*ms + dead},
	}
	for _, tt := range tests {
		var s silence
		for i, st := range tt.steps {
			switch st.op {
			case "heard":
				s.heard(st.at)
			case "stall":
				s.stalled(st.at)
			case "check":
				if got := s.over(st.at, dead); got != st.over {
					t.Errorf("%s, step %d: over at %v: got %v, want %v", tt.name, i, time.Duration(st.at), got, st.over)
				}
			}
		}
		if got := s.deadline(dead); got != tt.due {
			t.Errorf("%s: deadline got %v, want %v", tt.name, time.Duration(got), time.Duration(tt.due))
		}
	}
}

// A receiver that was not run for longer than the dead time while the peer
// kept sending: its timer wakes late, before the pumps hand it the frames
// that waited in the sockets. It must not declare OVERTIME, and must count
// the stall.
func TestReceiverOwnStallIsNotOvertime(t *testing.T) {
	g := newRxRig(t, 2)
	dead := g.o.Deadtime
	g.handle(0, g.frame(wire.Frame{Seq: 1}), 0)
	// The loop planned to wake at the deadline and woke 400 ms late.
	planned, woke := g.at(dead), g.at(dead+400*time.Millisecond)
	g.r.ownStall(planned, woke)
	next := g.r.tick(woke)
	if p := readPeer(g.tbl); p.Overtime {
		t.Fatalf("OVERTIME right after the receiver's own stall: got %+v", p)
	}
	if ps := readPath(g.tbl, 0); !ps.Up {
		t.Error("path 0 went down during the receiver's own stall")
	}
	if next <= woke {
		t.Errorf("next deadline %v is not after the late wake-up %v", time.Duration(next-g.start), time.Duration(woke-g.start))
	}
	// The pumps then deliver what waited: the peer is fine.
	g.handle(0, g.frame(wire.Frame{Seq: 2}), dead+400*time.Millisecond+time.Millisecond)
	g.r.tick(g.at(dead + 401*time.Millisecond))
	if p := readPeer(g.tbl); p.Overtime || p.Accepted != 2 {
		t.Errorf("after the waiting frame: got %+v, want 2 accepted, no OVERTIME", p)
	}
	if got := g.extra(slots.ExtraStalls); got != 1 {
		t.Errorf("stalls in the slot: got %d, want 1", got)
	}
	if got := time.Duration(g.extra(slots.ExtraMaxStall)); got != 400*time.Millisecond {
		t.Errorf("longest stall in the slot: got %v, want 400ms", got)
	}
}

// A peer that really died while the receiver stalled: OVERTIME comes one
// stall (and the grace) later than on a healthy machine, not never; and a
// receiver that keeps stalling does not push it further.
func TestReceiverOwnStallDelaysRealOvertimeOnce(t *testing.T) {
	g := newRxRig(t, 1)
	dead := g.o.Deadtime
	lag := 100 * time.Millisecond
	g.handle(0, g.frame(wire.Frame{Seq: 1}), 0)
	g.r.ownStall(g.at(dead), g.at(dead+lag))
	next := g.r.tick(g.at(dead + lag))
	if want := g.at(dead + lag + stallGrace); next != want {
		t.Fatalf("deadline after the stall: got %v, want %v", time.Duration(next-g.start), time.Duration(want-g.start))
	}
	// Stalled again, for as long: no more credit.
	g.r.ownStall(next, next+int64(lag))
	g.r.tick(next + int64(lag))
	if p := readPeer(g.tbl); !p.Overtime {
		t.Fatalf("after a second stall of a silent peer: got %+v, want OVERTIME", p)
	}
}

// On a healthy machine (wake-ups within the threshold) the dead time is
// exactly the dead time.
func TestReceiverNoStallNoDelay(t *testing.T) {
	g := newRxRig(t, 1)
	dead := g.o.Deadtime
	g.handle(0, g.frame(wire.Frame{Seq: 1}), 0)
	late := stallThreshold(dead) // at the threshold: timer slop
	g.r.ownStall(g.at(dead-late), g.at(dead))
	g.r.tick(g.at(dead))
	if p := readPeer(g.tbl); !p.Overtime {
		t.Fatalf("at the dead time with on-time wake-ups: got %+v, want OVERTIME", p)
	}
	if got := g.extra(slots.ExtraStalls); got != 0 {
		t.Errorf("stalls: got %d, want 0", got)
	}
}

// The sender counts its own late wake-ups in its slot, and a restarted
// sender carries the count on.
func TestSenderOwnStall(t *testing.T) {
	tbl := newTable(t)
	paths, _ := pathPair(commtest.New(1), 1)
	o := senderOptions(t, tbl, paths)
	s := newTestSender(t, o)
	now := shm.Now()
	s.restore(now)
	iv := int64(o.Interval)
	s.ownStall(now+iv, now+iv+int64(o.Interval)/8) // within a quarter interval: slop
	s.ownStall(now+2*iv, now+3*iv)                 // a whole interval late
	s.own.Write(shm.Now())
	d := readDaemon(t, tbl, shm.SlotSender)
	if d.Extra[slots.ExtraStalls] != 1 || time.Duration(d.Extra[slots.ExtraMaxStall]) != o.Interval {
		t.Errorf("slot: got %d stalls, longest %v; want 1, %v", d.Extra[slots.ExtraStalls], time.Duration(d.Extra[slots.ExtraMaxStall]), o.Interval)
	}
	paths2, _ := pathPair(commtest.New(2), 1)
	o.Paths = paths2
	s2 := newTestSender(t, o)
	s2.restore(shm.Now())
	if s2.stalls.count != 1 || s2.stalls.longest != iv {
		t.Errorf("restarted sender: got %d stalls, longest %v; want 1, %v", s2.stalls.count, time.Duration(s2.stalls.longest), o.Interval)
	}
}
