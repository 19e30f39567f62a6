package torture

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/e2e/cluster"
)

var (
	trials = flag.Int("torture.trials", 2, "trials to run")
	steps  = flag.Int("torture.steps", 12, "faults per trial")
	seed   = flag.Uint64("torture.seed", 0, "seed of the first trial (the next ones count up); 0: from the clock")
	faults = flag.String("torture.faults", "", "comma-separated faults to draw from; empty: all")
	dir    = flag.String("torture.dir", "", "where the log and failed trials go; empty: bin/torture of the module")
)

// TestTorture runs the fault-injection campaign: -torture.trials trials of
// -torture.steps random faults each. Every trial is a seed; a failure
// prints its seed and the command that replays it, and keeps the trial's
// logs. Every trial is recorded in torture.log.
func TestTorture(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the fault campaign needs root (network namespaces)")
	}
	if testing.Short() {
		t.Skip("the fault campaign runs on its own (make test runs its short form after the unit tests)")
	}
	kinds, err := ParseKinds(*faults)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := cluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	out := *dir
	if out == "" {
		out = filepath.Join(bin, "torture")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(filepath.Join(out, "torture.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	logLine := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		fmt.Fprintf(logf, "%s %s\n", time.Now().Format("2006-01-02T15:04:05.000"), line)
		t.Log(line)
	}
	first := *seed
	if first == 0 {
		first = uint64(time.Now().UnixNano())
	}
	var all []*Report
	for i := range *trials {
		s := first + uint64(i)
		replay := fmt.Sprintf("go test -count=1 -v -run '^TestTorture$' ./e2e/torture/ -torture.trials=1 -torture.steps=%d -torture.seed=%d", *steps, s)
		if *faults != "" {
			replay += " -torture.faults=" + *faults
		}
		tdir := filepath.Join(out, fmt.Sprintf("trial-%d", s))
		_ = os.RemoveAll(tdir)
		logLine("=== trial %d of %d, seed %d", i+1, *trials, s)
		rep, err := Run(s, Options{Bin: bin, Dir: tdir, Steps: *steps, Kinds: kinds, Log: logLine})
		if err != nil {
			t.Fatalf("trial seed %d could not run: %v\nreplay: %s", s, err, replay)
		}
		all = append(all, rep)
		logLine("trial seed %d: %s in %v; fences %d, init starts %d, longest overlap of VIP holders %v",
			s, verdict(rep), rep.Took.Round(time.Millisecond), len(rep.Fences), rep.Inits, rep.MaxOverlap)
		if len(rep.Failures) == 0 {
			_ = os.RemoveAll(tdir)
			continue
		}
		for _, f := range rep.Failures {
			logLine("  FAILED: %s", f)
		}
		t.Errorf("trial seed %d failed:\n  %s\nlogs kept in %s\nreplay: %s", s, strings.Join(rep.Failures, "\n  "), tdir, replay)
	}
	summary(logLine, all)
}

func verdict(r *Report) string {
	if len(r.Failures) == 0 {
		return "passed"
	}
	return fmt.Sprintf("FAILED (%d)", len(r.Failures))
}

// summary logs the campaign's figures: per fault, how many ran, the
// longest client outage and the slowest return to rest.
func summary(logLine func(string, ...any), reps []*Report) {
	type agg struct {
		n                int
		outage, settled  time.Duration
		takeovers, steps int
	}
	by := map[Kind]*agg{}
	var fences []time.Duration
	var overlap time.Duration
	failed := 0
	for _, r := range reps {
		if len(r.Failures) > 0 {
			failed++
		}
		fences = append(fences, r.Fences...)
		overlap = max(overlap, r.MaxOverlap)
		for _, s := range r.Steps {
			a := by[s.Step.Kind]
			if a == nil {
				a = &agg{}
				by[s.Step.Kind] = a
			}
			a.n++
			a.outage, a.settled = max(a.outage, s.Outage), max(a.settled, s.Settled)
			if s.Takeovers > 0 {
				a.takeovers++
			}
		}
	}
	logLine("campaign: %d trials, %d failed; longest overlap of VIP holders %v (window %v)", len(reps), failed, overlap, overlapWindow)
	logLine("%-14s %5s %14s %14s %18s", "fault", "runs", "max outage", "max settle", "steps with takeover")
	for _, k := range AllKinds() {
		if a := by[k]; a != nil {
			logLine("%-14s %5d %14v %14v %18d", k, a.n, a.outage.Round(time.Millisecond), a.settled.Round(time.Millisecond), a.takeovers)
		}
	}
	if len(fences) > 0 {
		slices.Sort(fences)
		logLine("fencing (power-off by the fence device): %d, median %v, max %v", len(fences),
			fences[len(fences)/2].Round(time.Millisecond), fences[len(fences)-1].Round(time.Millisecond))
	}
}

// The campaign's monitors must see a split brain when there is one: with
// no fence device, cutting both heartbeat paths makes both nodes hold the
// VIP (the partition is a split brain by construction in a two-node
// cluster), and the trial must fail on it, from the client's ARP and from
// the nodes' addresses.
func TestCampaignSeesSplitBrain(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the fault campaign needs root (network namespaces)")
	}
	if testing.Short() {
		t.Skip("the fault campaign runs on its own")
	}
	bin, err := cluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	plan := []Step{{Kind: CutBoth, Hold: 2 * time.Second}}
	rep, err := Run(1, Options{Bin: bin, Dir: t.TempDir(), Plan: plan, NoFencing: true, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failures: %q", rep.Failures)
	if rep.DualARP == 0 {
		t.Error("the client's ARP watcher did not see both nodes answer for the VIP")
	}
	if rep.MaxOverlap < time.Second {
		t.Errorf("the address monitors saw both nodes hold the VIP for %v, want about the 2 s of the partition", rep.MaxOverlap)
	}
	if len(rep.Failures) == 0 {
		t.Error("the trial passed")
	}
}
