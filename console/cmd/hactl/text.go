package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/hadcluster/had/console"
)

// statusText is this node's status, then the peer's own as its admin
// server reports it.
func statusText(st console.StatusResponse) string {
	var b strings.Builder
	b.WriteString(st.Local.Text())
	switch {
	case st.Peer != nil:
		fmt.Fprintf(&b, "\n=== %s, as its own admin server reports ===\n", st.Peer.Node.Name)
		b.WriteString(st.Peer.Text())
	case st.PeerError != "":
		fmt.Fprintf(&b, "\npeer's admin server: %s\n", st.PeerError)
	}
	return b.String()
}

// historyText is a short table of the newest samples: the rest is for
// plots (--json).
func historyText(h console.History) string {
	var b strings.Builder
	from := max(len(h.Samples)-20, 0)
	fmt.Fprintf(&b, "%d samples, one every %gs; the last %d:\n", len(h.Samples), h.IntervalS, len(h.Samples)-from)
	for _, s := range h.Samples[from:] {
		fmt.Fprintf(&b, "%s  %s/%s", s.T.Local().Format("15:04:05"), s.State, s.PeerState)
		for _, p := range s.Paths {
			if p.Up {
				fmt.Fprintf(&b, "  %s %.2fms %.0f%%", p.Name, p.RTTMs, p.LossPercent)
			} else {
				fmt.Fprintf(&b, "  %s down", p.Name)
			}
		}
		for _, x := range []struct {
			who string
			p   *console.Perf
		}{{"cpu", s.Local}, {"peer cpu", s.Peer}} {
			if x.p != nil {
				fmt.Fprintf(&b, "  %s %.1f%%", x.who, x.p.CPUPercent)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
