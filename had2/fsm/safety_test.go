package fsm

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

var (
	seedFlag  = flag.Int64("seed", 0, "run only this seed of the random schedules")
	seedCount = flag.Int("seeds", 300, "how many random schedules to run")
)

// faultSchedule throws a random fault at the pair every so often until
// faultsEnd, then heals everything.
func faultSchedule(s *sim, faultsEnd time.Duration) {
	r := s.rng
	var next func()
	next = func() {
		if s.now >= faultsEnd {
			return
		}
		i := r.Intn(2)
		p := s.paths[r.Intn(len(s.paths))]
		dur := time.Duration(100+r.Intn(4000)) * time.Millisecond
		switch k := r.Intn(13); k {
		case 0:
			s.powerOff(i)
			s.at(dur, func() { s.powerOn(i) })
		case 1: // both paths, both directions: a blackout
			for _, q := range s.paths {
				q.up = [2]bool{false, false}
			}
			s.logf("blackout for %v", dur)
			s.at(dur, func() {
				for _, q := range s.paths {
					q.up = [2]bool{true, true}
				}
			})
		case 2: // one path
			p.up = [2]bool{false, false}
			s.at(dur, func() { p.up = [2]bool{true, true} })
		case 3: // one direction of one path
			p.up[i] = false
			s.at(dur, func() { p.up[i] = true })
		case 4:
			p.loss = r.Float64() * 0.8
			s.at(dur, func() { p.loss = 0 })
		case 5:
			p.maxDelay = time.Duration(1+r.Intn(80)) * time.Millisecond
			p.dup = r.Float64() * 0.3
			s.at(dur, func() { p.maxDelay, p.dup = 2*time.Millisecond, 0 })
		case 6, 7:
			s.restartHad2(i)
		case 8:
			s.setHealth(i, false)
			s.at(dur, func() { s.setHealth(i, true) })
		case 9:
			s.admin(i, []AdminCmd{AdminTakeover, AdminStandby, AdminRecover}[r.Intn(3)])
		case 10: // both nodes power-cycle and boot at the same moment
			s.powerOff(0)
			s.powerOff(1)
			s.at(dur, func() { s.powerOn(0); s.powerOn(1) })
		case 12:
			s.setService(i, true)
			s.at(dur, func() { s.setService(i, false) })
		case 11: // one-way blackout: every path in one direction
			for _, q := range s.paths {
				q.up[i] = false
			}
			s.at(dur, func() {
				for _, q := range s.paths {
					q.up[i] = true
				}
			})
		}
		s.at(time.Duration(200+r.Intn(2500))*time.Millisecond, next)
	}
	s.at(time.Second, next)
	s.at(faultsEnd, func() { heal(s) })
}

// heal ends every fault: paths up and clean, nodes on and healthy.
func heal(s *sim) {
	s.logf("heal")
	for _, p := range s.paths {
		*p = simPath{up: [2]bool{true, true}, minDelay: 100 * time.Microsecond, maxDelay: 2 * time.Millisecond}
	}
	for i, n := range s.nodes {
		s.powerOn(i)
		if !n.agentsOK {
			s.setHealth(i, true)
		}
		if n.svcFail {
			s.setService(i, false)
		}
	}
}

// TestSafetyRandom runs many seeded random fault schedules and checks, all
// the time, that no group is up on both nodes (except, without fencing,
// right after a blackout that made a live peer look dead), and at the end,
// once every fault has healed, that each group is up on exactly one node.
func TestSafetyRandom(t *testing.T) {
	seeds := make([]int64, 0, *seedCount)
	if *seedFlag != 0 {
		seeds = append(seeds, *seedFlag)
	} else {
		for i := 1; i <= *seedCount; i++ {
			seeds = append(seeds, int64(i))
		}
	}
	const faultsEnd, settle = 40 * time.Second, 15 * time.Second
	for _, seed := range seeds {
		mode := []string{"asymmetric", "symmetric"}[seed%2]
		auto := seed%3 != 0
		fencing := seed%5 == 0
		name := fmt.Sprintf("seed=%d/%s/auto=%v/fence=%v", seed, mode, auto, fencing)
		s := newSim(t, seed, mode, auto)
		s.failP = 0.05
		if fencing {
			s.fencing, s.fenceErr = true, 0.2
			s.strict = seed%10 == 0
			for _, n := range s.nodes {
				n.cfg.Fence, n.cfg.FenceRequired = true, s.strict
			}
		}
		s.start(0, time.Duration(s.rng.Intn(3000))*time.Millisecond)
		faultSchedule(s, faultsEnd)
		s.run(faultsEnd + settle)
		if s.violation != "" {
			t.Fatalf("%s\n%s", name, s.report())
		}
		all := g1
		if mode == "symmetric" {
			all |= g2
		}
		for _, g := range []wire.Groups{g1, g2} {
			if !all.Any(g) {
				continue
			}
			if h := s.holders(g); len(h) != 1 {
				s.fail("after healing for %v, %v is held by nodes %v, want exactly one", settle, g, h)
				t.Fatalf("%s\n%s", name, s.report())
			}
		}
	}
}
