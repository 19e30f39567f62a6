package console

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestSparkline(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		v    []float64
		top  float64
		want string
	}{
		{nil, 0, ""},
		{[]float64{0, 50, 100}, 100, "▁▄█"},
		{[]float64{1, 2, nan, 4}, 0, "▂▄ █"},
		{[]float64{0, 0}, 0, "▁▁"},
		{[]float64{200, -5}, 100, "█▁"},
	}
	for _, tt := range tests {
		if got := Sparkline(tt.v, tt.top); got != tt.want {
			t.Errorf("Sparkline(%v, %v): got %q, want %q", tt.v, tt.top, got, tt.want)
		}
	}
}

func TestFrame(t *testing.T) {
	local := Status{Pair: "(T,D)", Taken: time.Unix(0, 0),
		Node:        Node{ID: 1, Name: "alpha", State: "T", Held: "g1,g2"},
		Peer:        Peer{ID: 2, Name: "beta", State: "N", Held: "g2"},
		Paths:       []Path{{Name: "lan", Up: false, LossPercent: 100}},
		Transitions: []Transition{{Time: time.Unix(1, 0), From: "N", To: "T", Text: "peer silent"}}}
	hist := []Sample{{Paths: []PathSample{{Name: "lan", Up: true, RTTMs: 1}}, Local: &Perf{CPUPercent: 50}},
		{Paths: []PathSample{{Name: "lan", Up: false}}, Local: &Perf{CPUPercent: 100}}}
	got := Frame(StatusResponse{Local: local, PeerError: "peer admin server did not answer"}, hist, 60)
	for _, want := range []string{"had top   pair (T,D)", "alpha (node 1, this node)   state T   ", "cpu    ▄█",
		"path   lan      down rtt   0.00 ms  loss 100%", "beta (node 2)  as heard: state N, holds g2 — its", "N → T  peer silent"} {
		if !strings.Contains(got, want) {
			t.Errorf("frame lacks %q:\n%s", want, got)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if n := len([]rune(line)); n > 60 {
			t.Errorf("line of %d runes, want at most 60: %q", n, line)
		}
	}
}
