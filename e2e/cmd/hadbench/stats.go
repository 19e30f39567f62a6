package main

import (
	"fmt"
	"slices"
	"time"
)

// summary is the spread of one figure over several runs.
type summary struct {
	n                  int
	min, med, p95, max time.Duration
	missing            int // runs where the figure could not be observed
}

// summarize sorts a copy of d. A negative duration marks a run where the
// figure was not observed: it is counted in missing and left out.
func summarize(d []time.Duration) summary {
	var v []time.Duration
	s := summary{}
	for _, x := range d {
		if x < 0 {
			s.missing++
			continue
		}
		v = append(v, x)
	}
	slices.Sort(v)
	s.n = len(v)
	if s.n == 0 {
		return s
	}
	s.min, s.max = v[0], v[s.n-1]
	s.med = v[s.n/2]
	if s.n%2 == 0 {
		s.med = (v[s.n/2-1] + v[s.n/2]) / 2
	}
	// p95 by the nearest-rank method: the smallest value with at least 95%
	// of the runs at or below it.
	s.p95 = v[(s.n*95+99)/100-1]
	return s
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
