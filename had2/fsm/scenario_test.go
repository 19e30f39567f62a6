package fsm

import (
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

const (
	g1 = wire.Groups(1) // node 1's group
	g2 = wire.Groups(2) // node 2's group
)

// pairsSince returns the pair states recorded from index i on.
func pairsSince(s *sim, i int) string { return strings.Join(s.pairLog[i:], " ") }

func mustHold(t *testing.T, s *sim, g wire.Groups, want ...int) {
	t.Helper()
	got := s.holders(g)
	if len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
		t.Fatalf("at %v: %v held by nodes %v, want %v\n%s", s.now, g, got, want, s.report())
	}
}

func TestBothStartTogether(t *testing.T) {
	for _, mode := range []string{"asymmetric", "symmetric"} {
		t.Run(mode, func(t *testing.T) {
			s := newSim(t, 1, mode, true)
			s.start(0, 0)
			s.run(3 * time.Second)
			if s.pair() != "(N,N)" {
				t.Fatalf("pair = %s, want (N,N); pairs %v", s.pair(), s.pairLog)
			}
			mustHold(t, s, g1, 1)
			if mode == "symmetric" {
				mustHold(t, s, g2, 2)
			}
		})
	}
}

// The seed's three sequences (SPEC §4), exactly.
func TestSeedSequences(t *testing.T) {
	tests := []struct {
		name string
		mode string
		fail int // node index powered off
		want string
	}{
		{"primary fails", "asymmetric", 0, "(N,N) (D,N) (D,T) (R,T) (R,N) (N,N)"},
		{"backup fails, asymmetric", "asymmetric", 1, "(N,N) (N,D) (N,R) (N,N)"},
		{"backup fails, symmetric", "symmetric", 1, "(N,N) (N,D) (T,D) (T,R) (N,R) (N,N)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, 7, tt.mode, true)
			s.start(0, 0)
			s.run(3 * time.Second)
			mark := len(s.pairLog) - 1
			s.powerOff(tt.fail)
			s.run(6 * time.Second)
			s.powerOn(tt.fail)
			s.run(10 * time.Second)
			if got := pairsSince(s, mark); got != tt.want {
				t.Fatalf("pairs = %s\nwant    %s\n%s", got, tt.want, s.report())
			}
			if s.violation != "" {
				t.Fatal(s.report())
			}
		})
	}
}

func TestManualFailback(t *testing.T) {
	s := newSim(t, 3, "asymmetric", false)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.powerOff(0)
	s.run(5 * time.Second)
	mustHold(t, s, g1, 2)
	s.powerOn(0)
	s.run(9 * time.Second)
	mustHold(t, s, g1, 2) // stays: manual failback
	if s.pair() != "(D,T)" {
		t.Fatalf("pair = %s, want (D,T)", s.pair())
	}
	s.admin(0, AdminRecover)
	s.run(11 * time.Second)
	mustHold(t, s, g1, 1)
	if s.pair() != "(N,N)" {
		t.Fatalf("pair = %s, want (N,N)\n%s", s.pair(), s.report())
	}
}

func TestOnePathCutIsNotAFailover(t *testing.T) {
	s := newSim(t, 4, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	for p := range s.paths {
		s.paths[p].up = [2]bool{false, false}
		s.run(s.now + 3*time.Second)
		mustHold(t, s, g1, 1)
		if s.pair() != "(N,N)" {
			t.Fatalf("path %d cut: pair = %s, want (N,N)", p, s.pair())
		}
		s.paths[p].up = [2]bool{true, true}
	}
}

// Both paths cut while both nodes live: the backup takes over (it cannot
// know better without fencing); when the paths heal, the home node keeps the
// group, the other releases it, and the home node re-announces it.
func TestBlackoutResolvesByHomeRule(t *testing.T) {
	s := newSim(t, 5, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	for _, p := range s.paths {
		p.up = [2]bool{false, false}
	}
	s.run(4 * time.Second)
	mustHold(t, s, g1, 1, 2)
	for _, p := range s.paths {
		p.up = [2]bool{true, true}
	}
	s.run(6 * time.Second)
	mustHold(t, s, g1, 1)
	if s.violation != "" {
		t.Fatal(s.report())
	}
	if !strings.Contains(strings.Join(s.trace, "\n"), "node1 reannounce g1") {
		t.Fatalf("node1 did not re-announce g1 after the conflict\n%s", s.report())
	}
}

// With fencing, the same blackout powers the peer off before the takeover.
func TestBlackoutWithFencing(t *testing.T) {
	s := newSim(t, 6, "asymmetric", true)
	s.fencing, s.strict = true, true
	for _, n := range s.nodes {
		n.cfg.Fence, n.cfg.FenceRequired = true, true
	}
	s.start(0, 0)
	s.run(3 * time.Second)
	for _, p := range s.paths {
		p.up = [2]bool{false, false}
	}
	s.run(3500 * time.Millisecond)
	if s.violation != "" {
		t.Fatal(s.report())
	}
	mustHold(t, s, g1, 2)
}

func TestCriticalAgentHandsOver(t *testing.T) {
	s := newSim(t, 8, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.setHealth(0, false)
	s.run(4 * time.Second)
	mustHold(t, s, g1, 2)
	s.setHealth(0, true)
	s.run(6 * time.Second)
	mustHold(t, s, g1, 1) // automatic failback
	if s.violation != "" {
		t.Fatal(s.report())
	}
}

// A critical agent failing on both nodes does not move anything.
func TestCriticalAgentOnBothStays(t *testing.T) {
	s := newSim(t, 9, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.setHealth(1, false)
	s.run(3500 * time.Millisecond)
	s.setHealth(0, false)
	s.run(5 * time.Second)
	mustHold(t, s, g1, 1)
}

func TestAdminCommands(t *testing.T) {
	s := newSim(t, 10, "symmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.admin(1, AdminTakeover)
	s.run(4 * time.Second)
	mustHold(t, s, g1|g2, 2)
	if s.pair() != "(D,T)" {
		t.Fatalf("after takeover on node2: pair = %s, want (D,T)\n%s", s.pair(), s.report())
	}
	s.run(6 * time.Second)
	if s.pair() != "(D,T)" { // node1 was asked by an operator: it holds
		t.Fatalf("node1 did not stay in standby: pair = %s", s.pair())
	}
	s.admin(0, AdminRecover)
	s.run(7 * time.Second)
	mustHold(t, s, g1, 1)
	mustHold(t, s, g2, 2)
	s.admin(1, AdminStandby)
	s.run(8 * time.Second)
	mustHold(t, s, g1|g2, 1)
	if s.pair() != "(T,D)" {
		t.Fatalf("after standby on node2: pair = %s, want (T,D)", s.pair())
	}
	replies := 0
	for _, l := range s.trace {
		if strings.Contains(l, "admin-reply") {
			replies++
			if !strings.Contains(l, "ok=true") {
				t.Errorf("admin reply not ok: %s", l)
			}
		}
	}
	if replies != 3 {
		t.Errorf("got %d admin replies, want 3", replies)
	}
}

// A had2 restart (snapshot and restore) mid-handshake changes nothing the
// peer can see.
func TestHad2RestartMidHandshake(t *testing.T) {
	s := newSim(t, 11, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.powerOff(0)
	s.run(5 * time.Second)
	s.powerOn(0)
	for i := 0; i < 40; i++ { // restart both had2s every 25 ms through the failback
		s.run(s.now + 25*time.Millisecond)
		s.restartHad2(i % 2)
	}
	s.run(s.now + 3*time.Second)
	mustHold(t, s, g1, 1)
	if s.violation != "" {
		t.Fatal(s.report())
	}
}

// A graceful stop hands everything to the peer at once, without waiting
// for OVERTIME, and then the machine holds nothing.
func TestShutdownHandsOver(t *testing.T) {
	s := newSim(t, 12, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.step(s.nodes[0], Shutdown{})
	s.run(3200 * time.Millisecond)
	mustHold(t, s, g1, 2)
	if !s.nodes[0].m.Stopped() {
		t.Fatalf("node1 not stopped after shutdown: phase %v held %v", s.nodes[0].m.phase, s.nodes[0].m.Held())
	}
	if strings.Contains(strings.Join(s.trace, "\n"), "OVERTIME") {
		t.Fatal("the handover waited for OVERTIME")
	}
}

// A critical service agent failing on the active node hands everything to
// the peer; the node stands by until the agent reports OK again, then
// fails back (automatic failback).
func TestServiceFailureHandsOverUntilFixed(t *testing.T) {
	s := newSim(t, 13, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.setService(0, true)
	s.run(4 * time.Second)
	mustHold(t, s, g1, 2)
	s.run(8 * time.Second) // still failing: node1 must not take it back
	mustHold(t, s, g1, 2)
	if s.pair() != "(D,T)" {
		t.Fatalf("pair = %s, want (D,T) while node1's service is broken", s.pair())
	}
	s.setService(0, false)
	s.run(9 * time.Second)
	mustHold(t, s, g1, 1)
}

// A service agent failing where no group is held (the backup) changes
// nothing: it is about the services a node runs.
func TestServiceFailureOnBackupIgnored(t *testing.T) {
	s := newSim(t, 14, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.setService(1, true)
	s.run(4 * time.Second)
	mustHold(t, s, g1, 1)
	s.setService(0, true) // now the primary's service fails: the backup is fit
	s.run(5 * time.Second)
	mustHold(t, s, g1, 2)
}

// The service failing on the backup while it runs the primary's group
// hands it back to a fit primary, and the backup stays fit (no sticky
// failure: it was not its own group).
func TestServiceFailureOnTakenGroupHandsBack(t *testing.T) {
	s := newSim(t, 15, "asymmetric", true)
	s.start(0, 0)
	s.run(3 * time.Second)
	s.admin(1, AdminTakeover) // the backup holds the group, the primary stands by
	s.run(4 * time.Second)
	mustHold(t, s, g1, 2)
	s.setService(1, true)
	s.run(5 * time.Second)
	mustHold(t, s, g1, 1)
	if f := s.nodes[1].m.Flags(); f != 0 {
		t.Fatalf("backup flags %v after handing back, want none (still fit)", f)
	}
}
