package agents

import (
	"strings"
	"testing"

	"github.com/hadcluster/had/shm"
)

func TestDebounce(t *testing.T) {
	const (
		O = shm.OK
		W = shm.Warning
		E = shm.Error
		I = shm.Information
	)
	tests := []struct {
		name       string
		fall, rise int
		down       bool
		in, want   []shm.Value
	}{
		{"defaults pass everything", 1, 1, false, []shm.Value{O, E, O, W, E, I}, []shm.Value{O, E, O, W, E, I}},
		{"fall 3", 3, 1, false, []shm.Value{E, E, O, E, E, E, E, O}, []shm.Value{W, W, O, W, W, E, E, O}},
		{"rise 2", 1, 2, false, []shm.Value{E, O, E, O, O, O}, []shm.Value{E, E, E, E, O, O}},
		{"warning counts as good for rise", 1, 2, false, []shm.Value{E, W, W, W}, []shm.Value{E, E, W, W}},
		{"warning resets the fall count", 2, 1, false, []shm.Value{E, W, E, E}, []shm.Value{W, W, W, E}},
		{"resumed down", 3, 2, true, []shm.Value{O, E, O, O}, []shm.Value{E, E, E, O}},
		{"resumed down, failing on", 3, 2, true, []shm.Value{E}, []shm.Value{E}},
		{"zero fall and rise mean 1", 0, 0, false, []shm.Value{E, O}, []shm.Value{E, O}},
	}
	for _, tc := range tests {
		d := newDebounce(tc.fall, tc.rise, tc.down)
		var got []shm.Value
		for _, v := range tc.in {
			got = append(got, d.step(Result{Value: v, Text: "x"}).Value)
		}
		if !equalValues(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDebounceTexts(t *testing.T) {
	d := newDebounce(2, 2, false)
	for _, c := range []struct {
		in   shm.Value
		want string
	}{
		{shm.Error, "failed 1/2: boom"},
		{shm.Error, "boom"},
		{shm.OK, "down, good 1/2: boom"},
		{shm.OK, "boom"},
	} {
		if got := d.step(Result{Value: c.in, Text: "boom"}).Text; got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func equalValues(a, b []shm.Value) bool {
	return strings.Join(valueNames(a), ",") == strings.Join(valueNames(b), ",")
}

func valueNames(vs []shm.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}
