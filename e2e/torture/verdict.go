package torture

import (
	"slices"
	"time"

	"github.com/hadcluster/had/config"
)

// What the monitors saw, and the pure judgement of it.

// AddrEvent is the VIP appearing on (Has) or leaving a node's interface, as
// the node's netlink monitor received it.
type AddrEvent struct {
	At   time.Time
	Node string
	Has  bool
}

// PowerEvent is a node's power going off or coming on (the harness's own
// doing, so its times are exact).
type PowerEvent struct {
	At   time.Time
	Node string
	On   bool
}

// Span is an interval of time.
type Span struct{ From, To time.Time }

// Len is the span's duration.
func (s Span) Len() time.Duration { return s.To.Sub(s.From) }

// Overlaps lists the spans during which both nodes could answer for the
// VIP: each held it and had power (a powered-off node's links are down).
// Spans still open at end are closed there.
func Overlaps(addrs []AddrEvent, power []PowerEvent, end time.Time) []Span {
	type ev struct {
		at    time.Time
		node  string
		has   bool // for address events
		isPow bool
		on    bool
	}
	var evs []ev
	for _, a := range addrs {
		evs = append(evs, ev{at: a.At, node: a.Node, has: a.Has})
	}
	for _, p := range power {
		evs = append(evs, ev{at: p.At, node: p.Node, isPow: true, on: p.On})
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.at.Compare(b.at) })
	has := map[string]bool{}
	on := map[string]bool{"A": true, "B": true}
	var spans []Span
	var open *Span
	for _, e := range evs {
		if e.isPow {
			on[e.node] = e.on
		} else {
			has[e.node] = e.has
		}
		both := has["A"] && on["A"] && has["B"] && on["B"]
		switch {
		case both && open == nil:
			open = &Span{From: e.at}
		case !both && open != nil:
			open.To = e.at
			spans = append(spans, *open)
			open = nil
		}
	}
	if open != nil {
		open.To = end
		spans = append(spans, *open)
	}
	return spans
}

// ARPAnswer is one ARP reply for the VIP that the client's watcher saw,
// with the request it answers (the watcher's numbering).
type ARPAnswer struct {
	Request uint64
	At      time.Time
	MAC     string
}

// DualARP lists the requests that two different MACs answered: both nodes
// claimed the VIP at the same instant, as the client saw it.
func DualARP(answers []ARPAnswer) []uint64 {
	first := map[uint64]string{}
	var dual []uint64
	for _, a := range answers {
		m, seen := first[a.Request]
		switch {
		case !seen:
			first[a.Request] = a.MAC
		case m != a.MAC && !slices.Contains(dual, a.Request):
			dual = append(dual, a.Request)
		}
	}
	return dual
}

// Outage is a run of the client's requests that nobody answered, ended by
// an answered one.
type Outage struct {
	Span
	Requests int // unanswered requests in the run
}

// Outages lists the runs of at least min unanswered requests that an
// answer ended, given when each request was sent (indexed by sequence
// number) and which were answered. The length is from the first
// unanswered request to the answered one: time the prober did not run
// (starved with everything else) is not an outage of the service.
func Outages(sent []time.Time, answered map[uint64]bool, min int) []Outage {
	var out []Outage
	start, n := -1, 0
	for i := range sent {
		if !answered[uint64(i)] {
			if start < 0 {
				start = i
			}
			n++
			continue
		}
		if start >= 0 && n >= min {
			out = append(out, Outage{Span: Span{From: sent[start], To: sent[i]}, Requests: n})
		}
		start, n = -1, 0
	}
	return out
}

// Within returns the spans that intersect [from, to].
func Within[S interface{ span() Span }](xs []S, from, to time.Time) []S {
	var in []S
	for _, x := range xs {
		s := x.span()
		if s.To.After(from) && s.From.Before(to) {
			in = append(in, x)
		}
	}
	return in
}

func (s Span) span() Span { return s }

// Budget of a failover beyond the timers: the takeover table of the test
// cluster (VIP add, gratuitous ARP, an LSB service start: ~20-30 ms
// measured) and the client's next probe, with room for a loaded machine.
const tableBudget = 300 * time.Millisecond

// worstOutage returns the outage closest to (or furthest over) its bound,
// and the bound. A takeover after silence takes the dead time, the TAKEACK
// wait, the fencing and the table; time when no node had power does not
// count against had, but booting then does (initdead, when the nodes do
// not hear each other at once). Neither does time within flapping, while
// a node reboots faster than it can be declared dead: the service must be
// back a failover after it stopped. With no outage, the bound is a
// failover's.
func worstOutage(outages []Outage, power []PowerEvent, flapping Span, fence time.Duration, t config.Timers) (longest, bound time.Duration) {
	failover := t.Deadtime + t.AckTimeout + fence + tableBudget
	bound = failover
	for i, o := range outages {
		allowed := failover + flapping.clip(o.Span)
		if dark := darkness(power, o.Span); dark > 0 {
			allowed = dark + t.Initdead + tableBudget + time.Second
		}
		if i == 0 || o.Len()-allowed > longest-bound {
			longest, bound = o.Len(), allowed
		}
	}
	return longest, bound
}

// darkness is how long, within s, neither node had power.
func darkness(power []PowerEvent, s Span) time.Duration {
	on := map[string]bool{"A": true, "B": true}
	var dark time.Duration
	var since time.Time
	var isDark bool
	for _, e := range power {
		on[e.Node] = e.On
		nowDark := !on["A"] && !on["B"]
		switch {
		case nowDark && !isDark:
			since, isDark = e.At, true
		case !nowDark && isDark:
			dark += Span{since, e.At}.clip(s)
			isDark = false
		}
	}
	if isDark {
		dark += Span{since, s.To}.clip(s)
	}
	return dark
}

// clip is how much of x lies within s.
func (x Span) clip(s Span) time.Duration {
	from, to := x.From, x.To
	if s.From.After(from) {
		from = s.From
	}
	if s.To.Before(to) {
		to = s.To
	}
	if to.Before(from) {
		return 0
	}
	return to.Sub(from)
}
