package console

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// TopSpan is how much history the live view's sparklines cover.
const TopSpan = 60 * time.Second

// Frame renders one screen of the live view (hactl top): the pair, then
// each node as its own admin server reports it (this node, then the peer
// when its admin server answered), with its state, figures, paths,
// processes and agents, and the last transitions. hist, oldest first,
// draws the sparklines (CPU and round trips over the last minute). Lines
// are cut to width runes (0: no limit). Pure: no clock, no terminal codes.
func Frame(resp StatusResponse, hist []Sample, width int) string {
	var b strings.Builder
	l := resp.Local
	line := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		if width > 0 && utf8.RuneCountInString(s) > width {
			s = string([]rune(s)[:width])
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	line("had top   pair %s   %s", l.Pair, l.Taken.Local().Format("2006-01-02 15:04:05"))
	line("")
	cpu := func(pick func(Sample) *Perf) string {
		var v []float64
		any := false
		for _, s := range hist {
			if p := pick(s); p != nil {
				v, any = append(v, p.CPUPercent), true
			} else {
				v = append(v, math.NaN())
			}
		}
		if !any {
			return ""
		}
		return Sparkline(v, 100)
	}
	nodeBlock(line, l, "this node", cpu(func(s Sample) *Perf { return s.Local }), hist)
	switch {
	case resp.Peer != nil:
		nodeBlock(line, *resp.Peer, "peer, from its admin server", cpu(func(s Sample) *Perf { return s.Peer }), nil)
	case resp.PeerError != "":
		line("%s (node %d)  as heard: state %s, holds %s — its admin server: %s", l.Peer.Name, l.Peer.ID, l.Peer.State, l.Peer.Held, resp.PeerError)
		line("")
	default:
		alive := "silent"
		if l.Peer.Alive {
			alive = fmt.Sprintf("heard %.1fs ago", l.Peer.LastHeardS)
		}
		line("%s (node %d)  as heard: state %s, holds %s %s (%s)", l.Peer.Name, l.Peer.ID, l.Peer.State, l.Peer.Held, l.Peer.Flags, alive)
		line("")
	}
	line("transitions (%s)", l.Node.Name)
	if len(l.Transitions) == 0 {
		line("  none yet")
	}
	from := max(len(l.Transitions)-5, 0)
	for _, t := range l.Transitions[from:] {
		line("  %s  %s → %s  %s", t.Time.Local().Format("15:04:05.000"), t.From, t.To, t.Text)
	}
	return b.String()
}

// nodeBlock renders one node's block. hist, when given, draws the path sparklines.
func nodeBlock(line func(string, ...any), s Status, what, cpuLine string, hist []Sample) {
	flags := ""
	if s.Node.Flags != "" {
		flags = "  [" + s.Node.Flags + "]"
	}
	line("%s (node %d, %s)   state %s   holds %s%s", s.Node.Name, s.Node.ID, what, s.Node.State, s.Node.Held, flags)
	if p := s.Perf; p != nil {
		line("  perf   %s", p.Text())
	} else {
		line("  perf   (no stats agent)")
	}
	if cpuLine != "" {
		line("  cpu    %s  (last %v)", cpuLine, TopSpan)
	}
	for _, p := range s.Paths {
		spark := ""
		if hist != nil {
			var v []float64
			for _, smp := range hist {
				x := math.NaN()
				for _, ps := range smp.Paths {
					if ps.Name == p.Name && ps.Up {
						x = ps.RTTMs
					}
				}
				v = append(v, x)
			}
			spark = "  " + Sparkline(v, 0)
		}
		line("  path   %-8s %-4s rtt %6.2f ms  loss %3.0f%%  heard %5.1fs ago  late %d  downs %d%s",
			p.Name, upDown(p.Up), p.RTTMs, p.LossPercent, p.LastHeardS, p.Late, p.Downs, spark)
	}
	var procs []string
	for _, d := range s.Daemons {
		mark := "ok"
		if !d.Alive {
			mark = "DOWN"
		}
		procs = append(procs, fmt.Sprintf("%s %s", d.Role, mark))
	}
	line("  procs  %s", strings.Join(procs, "  "))
	for _, a := range s.Agents {
		line("  agent  %-12s %-11s %5.1fs ago  %s", a.Name, a.Value, a.AgeS, a.Message)
	}
	for _, r := range s.Resources {
		held := "-"
		if r.Held {
			held = "held"
		}
		var entries []string
		for _, e := range r.Entries {
			entries = append(entries, e.Kind+" "+e.Name)
		}
		line("  group  %-3s %-8s %-4s %s", r.Group, r.Table, held, strings.Join(entries, ", "))
	}
	line("")
}

var sparks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws v (NaN: no value, drawn as a space) with one block per
// value, scaled to top, or to the largest value when top is 0.
func Sparkline(v []float64, top float64) string {
	if len(v) == 0 {
		return ""
	}
	if top <= 0 {
		for _, x := range v {
			if !math.IsNaN(x) {
				top = max(top, x)
			}
		}
	}
	out := make([]rune, len(v))
	for i, x := range v {
		switch {
		case math.IsNaN(x):
			out[i] = ' '
		case top <= 0:
			out[i] = sparks[0]
		default:
			k := int(x / top * float64(len(sparks)-1))
			out[i] = sparks[min(max(k, 0), len(sparks)-1)]
		}
	}
	return string(out)
}
