package main

import (
	"testing"
	"time"

	"github.com/hadcluster/had/e2e/testbed"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	twenty := ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
	tests := []struct {
		name string
		in   []time.Duration
		want summary
	}{
		{"one", ms(5), summary{n: 1, min: 5e6, med: 5e6, p95: 5e6, max: 5e6}},
		{"odd", ms(3, 1, 2), summary{n: 3, min: 1e6, med: 2e6, p95: 3e6, max: 3e6}},
		{"even: median between the middle two", ms(4, 1, 2, 3), summary{n: 4, min: 1e6, med: 2500e3, p95: 4e6, max: 4e6}},
		{"twenty: p95 is the 19th", twenty, summary{n: 20, min: 1e6, med: 10500e3, p95: 19e6, max: 20e6}},
		{"missing runs", append(ms(1, 2), -1, -1), summary{n: 2, min: 1e6, med: 1500e3, p95: 2e6, max: 2e6, missing: 2}},
		{"none", nil, summary{}},
	}
	for _, tt := range tests {
		if got := summarize(tt.in); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestLongestGap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []testbed.Reply {
		var r []testbed.Reply
		for _, m := range ms {
			r = append(r, testbed.Reply{Received: t0.Add(time.Duration(m) * time.Millisecond)})
		}
		return r
	}
	replies := at(0, 1, 2, 50, 51, 52, 200, 201, 400)
	w := func(from, to int) (time.Time, time.Time) {
		return t0.Add(time.Duration(from) * time.Millisecond), t0.Add(time.Duration(to) * time.Millisecond)
	}
	tests := []struct {
		name     string
		from, to int
		want     time.Duration
	}{
		{"spans the silence before the window", 10, 20, 48 * time.Millisecond},
		{"inside", 50, 52, 148 * time.Millisecond}, // up to the first answer after the window
		{"whole", 0, 400, 199 * time.Millisecond},
		{"after the last answer", 500, 600, 0},
		{"before the first", -10, -5, time.Millisecond},
	}
	for _, tt := range tests {
		from, to := w(tt.from, tt.to)
		if got := longestGap(replies, from, to); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
