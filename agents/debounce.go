package agents

import (
	"fmt"

	"github.com/hadcluster/had/shm"
)

// debounce applies keepalived's fall and rise to the results of successive
// checks: the reported value turns ERROR only after fall failed checks in a
// row, and back from ERROR only after rise good ones. A WARNING (or
// INFORMATION) result is not a failure: it is reported as it is while the
// agent is up, and counts as good towards rise. In between, the reports
// say where the count stands:
//
//	up, a failed check before fall:  WARNING "failed 1/3: …"
//	down, a good check before rise:  ERROR   "down, good 1/2: …"
//
// An agent starts up (keepalived's default for checks), or down when its
// previous instance last reported ERROR, so that had1 restarting an agent
// does not turn a failure into a few seconds of health.
type debounce struct {
	fall, rise   int
	down         bool
	fails, goods int
}

func newDebounce(fall, rise int, down bool) *debounce {
	return &debounce{fall: max(fall, 1), rise: max(rise, 1), down: down}
}

// step takes one check's result and returns the one to report.
func (d *debounce) step(r Result) Result {
	if r.Value == shm.Error {
		d.goods = 0
		d.fails++
		if !d.down && d.fails >= d.fall {
			d.down = true
		}
		if !d.down {
			r.Value = shm.Warning
			r.Text = fmt.Sprintf("failed %d/%d: %s", d.fails, d.fall, r.Text)
		}
		return r
	}
	d.fails = 0
	d.goods++
	if d.down && d.goods >= d.rise {
		d.down = false
	}
	if d.down {
		r.Value = shm.Error
		r.Text = fmt.Sprintf("down, good %d/%d: %s", d.goods, d.rise, r.Text)
	}
	return r
}
