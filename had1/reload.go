package had1

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"unicode/utf8"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/fileerr"
	"github.com/hadcluster/had/shm"
)

// Loaded is one whole configuration as had1 runs it: what main reads with
// node.Load and agents.List, at start and again on every reload (SIGHUP).
type Loaded struct {
	Config *config.Config
	Agents []Agent // in slot order
	// Own and Peer are the RECOVER and TAKEOVER tables' entries in
	// canonical form (one table line each, tables.Table.String); nil when
	// the node has no such table.
	Own, Peer []string
	Release   Releaser
	Skipped   []error // agents-directory entries left out, to log
}

// Refusals lists why next cannot replace cur while the node runs; none
// means the reload may go ahead. held is the set of groups this node
// holds now.
//
// Fixed for a node's life: its identity (cluster_id, node_id), who owns
// which group (mode, primary: a change would move a group without the
// handshake that keeps both nodes from holding it), the record table
// (every process maps it) and the state directory (the boot epoch).
//
// A table of a group the node holds may only grow: the restarted had2
// re-runs the held tables, which starts an added entry, but it never
// stops an entry that is no longer in the table, so a changed or removed
// one would be left running (an old VIP on the interface). The group must
// be handed over first. A table of a group the node does not hold may
// change freely.
func Refusals(cur, next Loaded, held wire.Groups) []string {
	a, b := cur.Config, next.Config
	var out []string
	fixed := func(key string, was, now any) {
		if was != now {
			out = append(out, fmt.Sprintf("%s: %s: changed from %v to %v, which needs a restart of the node", b.File, key, was, now))
		}
	}
	fixed("cluster_id", a.ClusterID, b.ClusterID)
	fixed("node_id", a.NodeID, b.NodeID)
	fixed("mode", a.Mode, b.Mode)
	fixed("primary", a.Primary, b.Primary)
	fixed("shm_path", a.ShmPath, b.ShmPath)
	fixed("state_dir", a.StateDir, b.StateDir)
	if a.NodeID != b.NodeID {
		return out // the groups below would be another node's
	}
	check := func(g wire.Groups, file string, was, now []string) {
		if !held.Any(g) {
			return
		}
		for _, line := range was {
			if !slices.Contains(now, line) {
				out = append(out, fmt.Sprintf("%s: %q changed or removed while this node holds %v: hand the group over first (hactl standby) or restart the node",
					file, line, g))
			}
		}
	}
	check(wire.GroupOf(b.NodeID), b.RecoverTable, cur.Own, next.Own)
	check(wire.GroupOf(b.PeerID), b.TakeoverTable, cur.Peer, next.Peer)
	return out
}

// AgentChanges compares the agents of a reload by name: kept ones run on
// untouched; stopped ones (removed, or changed in any way, their slot
// included) end, and started ones (added, or changed) begin.
func AgentChanges(cur, next []Agent) (kept, stopped, started []Agent) {
	byName := map[string]Agent{}
	for _, a := range next {
		byName[a.Name] = a
	}
	same := map[string]bool{}
	for _, a := range cur {
		if b, ok := byName[a.Name]; ok && reflect.DeepEqual(a, b) {
			kept = append(kept, a)
			same[a.Name] = true
		} else {
			stopped = append(stopped, a)
		}
	}
	for _, a := range next {
		if !same[a.Name] {
			started = append(started, a)
		}
	}
	return kept, stopped, started
}

// ErrorList flattens an error made by errors.Join or fileerr.Errors (what
// node.Load returns) into its single problems, in order.
func ErrorList(err error) []error {
	if err == nil {
		return nil
	}
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range m.Unwrap() {
			out = append(out, ErrorList(e)...)
		}
		return out
	}
	return []error{err}
}

// refusalText is the one line a refused reload leaves in had1's slot for
// the console: the first problem, with how many more there are. The slot
// holds shm.TextSize bytes, so a long file name is cut to its base name
// first, keeping file:line readable.
func refusalText(problems []error) string {
	if len(problems) == 0 {
		return "reload refused"
	}
	first := problems[0].Error()
	var fe fileerr.Error
	if len(first) > shm.TextSize && errors.As(problems[0], &fe) {
		fe.File = filepath.Base(fe.File)
		first = fe.Error()
	}
	if len(problems) > 1 {
		more := fmt.Sprintf(" (+%d more)", len(problems)-1)
		if len(first)+len(more) > shm.TextSize {
			first = cut(first, shm.TextSize-len(more))
		}
		first += more
	}
	return cut(first, shm.TextSize)
}

// cut shortens s to at most n bytes at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
