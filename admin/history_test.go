package admin

import (
	"testing"
	"time"

	"github.com/hadcluster/had/console"
)

func TestHistoryRing(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	tests := []struct {
		name  string
		span  time.Duration
		added int
		since time.Time
		want  []int // seconds of the samples returned
	}{
		{"empty", 3 * time.Second, 0, time.Time{}, nil},
		{"not full", 3 * time.Second, 2, time.Time{}, []int{0, 1}},
		{"full", 3 * time.Second, 3, time.Time{}, []int{0, 1, 2}},
		{"wrapped", 3 * time.Second, 7, time.Time{}, []int{4, 5, 6}},
		{"since", 3 * time.Second, 7, at(4), []int{5, 6}},
		{"since the newest", 3 * time.Second, 7, at(6), nil},
		{"span below a sample keeps one", time.Millisecond, 3, time.Time{}, []int{2}},
	}
	for _, tt := range tests {
		h := newHistory(tt.span)
		for i := range tt.added {
			h.add(console.Sample{T: at(i)})
		}
		got := h.since(tt.since)
		ok := len(got) == len(tt.want)
		for i := 0; ok && i < len(got); i++ {
			ok = got[i].T.Equal(at(tt.want[i]))
		}
		if !ok {
			var secs []int
			for _, s := range got {
				secs = append(secs, int(s.T.Sub(t0)/time.Second))
			}
			t.Errorf("%s: got samples at %v, want %v", tt.name, secs, tt.want)
		}
	}
}

func TestSampleOf(t *testing.T) {
	local := console.Status{Taken: time.Unix(5, 0), Node: console.Node{State: "T"},
		Peer:  console.Peer{State: "N", Alive: false},
		Paths: []console.Path{{Name: "lan", Up: true, RTTMs: 0.3, LossPercent: 2}},
		Perf:  &console.Perf{CPUPercent: 5}}
	peer := &console.Status{Perf: &console.Perf{CPUPercent: 7}}
	s := sampleOf(local, peer)
	if s.State != "T" || s.PeerState != "D" || s.Local.CPUPercent != 5 || s.Peer.CPUPercent != 7 ||
		len(s.Paths) != 1 || s.Paths[0] != (console.PathSample{Name: "lan", Up: true, RTTMs: 0.3, LossPercent: 2}) {
		t.Errorf("sample: got %+v, want T/D, cpu 5 and 7, lan 0.3 ms 2%%", s)
	}
	if s := sampleOf(local, nil); s.Peer != nil {
		t.Errorf("sample without the peer: got peer perf %+v, want null", s.Peer)
	}
}

func TestTokenMatch(t *testing.T) {
	tok := NewToken("0123456789abcdef")
	for _, tt := range []struct {
		in   string
		want bool
	}{{"0123456789abcdef", true}, {"0123456789abcdeF", false}, {"", false}, {"0123456789abcdef ", false}} {
		if got := tok.Match(tt.in); got != tt.want {
			t.Errorf("match %q: got %v, want %v", tt.in, got, tt.want)
		}
	}
	if (Token{}).Match("") {
		t.Error("the zero token matched the empty string")
	}
}
