package torture

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestPlanIsReproducible(t *testing.T) {
	for seed := uint64(1); seed < 50; seed++ {
		a, b := Plan(seed, 20, AllKinds()), Plan(seed, 20, AllKinds())
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two plans differ:\n%v\n%v", seed, a, b)
		}
	}
	if reflect.DeepEqual(Plan(1, 20, AllKinds()), Plan(2, 20, AllKinds())) {
		t.Error("seeds 1 and 2 gave the same plan")
	}
}

func TestPlanDealsEveryKind(t *testing.T) {
	for seed := uint64(1); seed < 200; seed++ {
		p := Plan(seed, int(numKinds), AllKinds())
		var got []Kind
		for _, s := range p {
			got = append(got, s.Kind)
		}
		slices.Sort(got)
		if !slices.Equal(got, AllKinds()) {
			t.Fatalf("seed %d: a plan of %d steps has kinds %v, want each once", seed, numKinds, got)
		}
	}
}

func TestPlanParameters(t *testing.T) {
	for seed := uint64(1); seed < 500; seed++ {
		for _, s := range Plan(seed, 24, AllKinds()) {
			bad := s.Wait < 0 || s.Wait > 200*time.Millisecond
			switch s.Kind {
			case PowerOff, Restarts:
				bad = bad || (s.Node != "A" && s.Node != "B") || s.Hold <= 0
			case Kill, Stop:
				bad = bad || (s.Node != "A" && s.Node != "B") || len(s.Roles) < 1 || len(s.Roles) > 2 ||
					(len(s.Roles) == 2 && s.Roles[0] == s.Roles[1])
				for _, r := range s.Roles {
					bad = bad || !slices.Contains(Roles, r)
				}
			case Lossy:
				bad = bad || s.Loss < 0 || s.Loss > 50 || s.Dup < 0 || s.Dup > 30 ||
					s.Latency < 0 || s.Latency > 150*time.Millisecond || s.Jitter < 0 || s.Jitter > 50*time.Millisecond
			case ClockJump:
				bad = bad || s.Jump == 0 || s.Jump < -time.Hour || s.Jump > time.Hour
			case Starve:
				bad = bad || s.Hogs < 2
			case DeleteVIP:
				bad = bad || s.Count < 1
			}
			if bad {
				t.Fatalf("seed %d: step out of range: %+v", seed, s)
			}
		}
	}
}

func TestParseKinds(t *testing.T) {
	got, err := ParseKinds("kill, cut-both,starve")
	if want := []Kind{Kill, CutBoth, Starve}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseKinds: got %v, %v; want %v", got, err, want)
	}
	if all, err := ParseKinds(""); err != nil || len(all) != int(numKinds) {
		t.Errorf("ParseKinds(\"\"): got %v, %v; want every kind", all, err)
	}
	if _, err := ParseKinds("kill,meteor"); err == nil {
		t.Error("ParseKinds accepted an unknown fault")
	}
	for _, k := range AllKinds() {
		if back, ok := kindByName(k.String()); !ok || back != k {
			t.Errorf("%v does not read back", k)
		}
	}
}

func TestStepString(t *testing.T) {
	for _, tc := range []struct {
		s    Step
		want string
	}{
		{Step{Kind: Stop, Node: "A", Roles: []string{"had1", "had2"}, Hold: time.Second}, "stop A had1+had2 for 1s"},
		{Step{Kind: Lossy, Loss: 20, Dup: 5, Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond, Hold: 2 * time.Second, Alone: true},
			"lossy 20% lost 5% duplicated 30ms+10ms late for 2s, serial cut"},
		{Step{Kind: ClockJump, Jump: -time.Minute, Hold: time.Second}, "clock-jump by -1m0s for 1s"},
		{Step{Kind: Restarts, Node: "B", Count: 3, Hold: 500 * time.Millisecond}, "restarts B 3 times, up 500ms each"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("got %q; want %q", got, tc.want)
		}
	}
}
