// Package torture is the fault-injection campaign: randomized, seeded,
// reproducible trials on a real two-node cluster in namespaces, with the
// invariants checked continuously from the client's side and against the
// nodes' addresses. A trial is a seed; the seed gives the plan (this file,
// pure), the plan is carried out against the cluster (faults.go), and what
// the client and the nodes showed meanwhile is judged (verdict.go, pure).
package torture

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Kind is a fault the campaign injects. Append only: seeds of recorded
// failures must keep replaying the same plan.
type Kind uint8

const (
	PowerOff     Kind = iota // a node loses power for a while, then boots
	Kill                     // kill -9 of one or two had processes of a node
	Stop                     // SIGSTOP of one or two had processes, SIGCONT later
	CutLAN                   // the UDP heartbeat path is cut, then healed
	CutSerial                // socat dies, then is restarted
	CutBoth                  // both heartbeat paths are cut, then healed
	Lossy                    // heartbeat datagrams on the LAN dropped, duplicated, delayed
	ClockJump                // the wall clock steps forward or back, then back again
	BootTogether             // both nodes lose power and boot at the same moment
	Restarts                 // a node power-cycles several times in a row
	DeleteVIP                // the VIP is deleted behind had's back on its holder
	Starve                   // stress-ng saturates every core
	numKinds
)

var kindNames = [...]string{"power-off", "kill", "stop", "cut-lan", "cut-serial", "cut-both", "lossy",
	"clock-jump", "boot-together", "restarts", "delete-vip", "starve"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKinds reads a comma-separated list of kind names; empty means all.
func ParseKinds(s string) ([]Kind, error) {
	if s == "" {
		return AllKinds(), nil
	}
	var ks []Kind
	for _, name := range strings.Split(s, ",") {
		k, ok := kindByName(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("torture: unknown fault %q (known: %s)", name, strings.Join(kindNames[:], ", "))
		}
		ks = append(ks, k)
	}
	return ks, nil
}

func kindByName(name string) (Kind, bool) {
	for i, n := range kindNames {
		if n == name {
			return Kind(i), true
		}
	}
	return 0, false
}

// AllKinds lists every fault.
func AllKinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// Roles are the had processes of a node that Kill and Stop pick from:
// the daemons and the node's one agent (a stats agent).
var Roles = []string{"had1", "had2", "sender", "receiver", "admin", "agent"}

// Step is one fault with its parameters. Which fields mean something
// depends on Kind.
type Step struct {
	Kind    Kind
	Node    string        // "A" or "B": the node hit (PowerOff, Kill, Stop, Restarts)
	Roles   []string      // Kill, Stop: one or two of Roles
	Hold    time.Duration // how long the fault lasts before it is healed
	Count   int           // Restarts: power cycles; DeleteVIP: deletions
	Loss    int           // Lossy: percent of heartbeat datagrams dropped
	Dup     int           // Lossy: percent duplicated
	Latency time.Duration // Lossy: added to every datagram
	Jitter  time.Duration // Lossy: and up to this much more, at random (so they reorder)
	Alone   bool          // Lossy: the serial line is cut meanwhile, the LAN is the only path
	Jump    time.Duration // ClockJump: the step of the wall clock
	Hogs    int           // Starve: stress-ng CPU workers
	Wait    time.Duration // before the fault, so it lands at a random phase of the heartbeat
}

func (s Step) String() string {
	var b strings.Builder
	b.WriteString(s.Kind.String())
	switch s.Kind {
	case PowerOff:
		fmt.Fprintf(&b, " %s for %v", s.Node, s.Hold)
	case Kill:
		fmt.Fprintf(&b, " %s %s", s.Node, strings.Join(s.Roles, "+"))
	case Stop:
		fmt.Fprintf(&b, " %s %s for %v", s.Node, strings.Join(s.Roles, "+"), s.Hold)
	case CutLAN, CutSerial, CutBoth, BootTogether:
		fmt.Fprintf(&b, " for %v", s.Hold)
	case Lossy:
		fmt.Fprintf(&b, " %d%% lost %d%% duplicated %v+%v late for %v", s.Loss, s.Dup, s.Latency, s.Jitter, s.Hold)
		if s.Alone {
			b.WriteString(", serial cut")
		}
	case ClockJump:
		fmt.Fprintf(&b, " by %v for %v", s.Jump, s.Hold)
	case Restarts:
		fmt.Fprintf(&b, " %s %d times, up %v each", s.Node, s.Count, s.Hold)
	case DeleteVIP:
		fmt.Fprintf(&b, " %d times %v apart", s.Count, s.Hold)
	case Starve:
		fmt.Fprintf(&b, " %d hogs for %v", s.Hogs, s.Hold)
	}
	return b.String()
}

// Plan is the faults of trial seed: steps of them, drawn from kinds. The
// same arguments always give the same plan.
func Plan(seed uint64, steps int, kinds []Kind) []Step {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+r.IntN(hi-lo+1)) * time.Millisecond }
	node := func() string { return [2]string{"A", "B"}[r.IntN(2)] }
	roles := func() []string {
		first := Roles[r.IntN(len(Roles))]
		if r.IntN(3) > 0 {
			return []string{first}
		}
		second := Roles[r.IntN(len(Roles))]
		for second == first {
			second = Roles[r.IntN(len(Roles))]
		}
		return []string{first, second}
	}
	// Kinds are dealt from a shuffled deck, so that a trial of at least
	// len(kinds) steps has every fault.
	var deck []Kind
	plan := make([]Step, 0, steps)
	for range steps {
		if len(deck) == 0 {
			deck = slices.Clone(kinds)
			r.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
		}
		s := Step{Kind: deck[0], Wait: ms(0, 200)}
		deck = deck[1:]
		switch s.Kind {
		case PowerOff:
			s.Node, s.Hold = node(), ms(200, 3000)
		case Kill:
			s.Node, s.Roles = node(), roles()
		case Stop:
			// Up to past the hang timeout (2 s) and the brain grace (3 s).
			s.Node, s.Roles, s.Hold = node(), roles(), ms(50, 4000)
		case CutLAN, CutSerial, CutBoth:
			s.Hold = ms(200, 3000)
		case Lossy:
			s.Loss, s.Dup, s.Hold = r.IntN(51), r.IntN(31), ms(1000, 5000)
			s.Latency, s.Jitter, s.Alone = ms(0, 150), ms(0, 50), r.IntN(2) == 0
		case ClockJump:
			s.Jump = ms(1000, 3600_000)
			if r.IntN(2) == 0 {
				s.Jump = -s.Jump
			}
			s.Hold = ms(500, 3000)
		case BootTogether:
			s.Hold = ms(200, 1500)
		case Restarts:
			s.Node, s.Count, s.Hold = node(), 2+r.IntN(3), ms(100, 1500)
		case DeleteVIP:
			s.Count, s.Hold = 1+r.IntN(5), ms(0, 500)
		case Starve:
			s.Hogs, s.Hold = 2+r.IntN(3), ms(2000, 8000)
		}
		plan = append(plan, s)
	}
	return plan
}
