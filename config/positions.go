package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps every key path of a TOML document to the line (and column)
// where the key is written, so that an error found long after parsing (a
// rule that compares two timers, a duplicate path name) can still point at
// the line to fix.
//
// Paths are the dotted TOML keys with array-of-table elements indexed from
// 0: "timers.deadtime", "udp[1].peer". A table header ("[timers]",
// "[[udp]]") is recorded under the table's own path ("timers", "udp[1]").
type keyLines struct {
	at    map[string]pos
	byPos map[pos]string // the reverse, to name go-toml's errors by full path
}

// pos is a 1-based line and byte column, as go-toml's DecodeError counts them.
type pos struct{ line, col int }

// has reports whether path is written in the document.
func (k keyLines) has(path string) bool {
	_, ok := k.at[path]
	return ok
}

// line returns the line of path. A key that is not written falls back to
// the nearest enclosing table that is ("udp[1].name" → the "[[udp]]" line),
// and to 0 when there is none.
func (k keyLines) line(path string) int {
	for path != "" {
		if p, ok := k.at[path]; ok {
			return p.line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// syntaxError is a TOML syntax error with its line.
type syntaxError struct {
	line int
	msg  string
}

// scanKeys walks the document with go-toml's unstable.Parser and records
// where every key is. It fails on the first syntax error: after one, the
// parser cannot resynchronise, so that error is the only one worth showing.
func scanKeys(data []byte) (keyLines, *syntaxError) {
	s := scanner{
		idx:   newLineIndex(data),
		out:   keyLines{at: map[string]pos{}, byPos: map[pos]string{}},
		count: map[string]int{},
	}
	var p unstable.Parser
	p.Reset(data)
	table := "" // the path of the current [table] or [[array table]] element
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table:
			table = s.header(n, false)
		case unstable.ArrayTable:
			table = s.header(n, true)
		case unstable.KeyValue:
			s.keyValue(table, n)
		}
	}
	if err := p.Error(); err != nil {
		line := 0
		var perr *unstable.ParserError
		if errors.As(err, &perr) {
			line = s.idx.lineOf(offsetIn(data, perr.Highlight))
		}
		return keyLines{}, &syntaxError{line: line, msg: err.Error()}
	}
	return s.out, nil
}

type scanner struct {
	idx   lineIndex
	out   keyLines
	count map[string]int // elements seen so far per array of tables
}

// header records a [table] or [[array table]] header and returns the path
// that the key/value lines below it live under.
func (s *scanner) header(n *unstable.Node, array bool) string {
	var parts []string
	var first *unstable.Node
	it := n.Key()
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		parts = append(parts, string(it.Node().Data))
	}
	// Every part but the last may name an array of tables, meaning its
	// latest element, as in TOML itself: [udp.x] after [[udp]] is udp[N].x.
	path := ""
	for i, part := range parts {
		path = join(path, part)
		if i == len(parts)-1 && array {
			n := s.count[path]
			s.count[path] = n + 1
			path = fmt.Sprintf("%s[%d]", path, n)
		} else if n, ok := s.count[path]; ok && i < len(parts)-1 {
			path = fmt.Sprintf("%s[%d]", path, n-1)
		}
	}
	s.record(path, first)
	return path
}

// keyValue records "key = value" under table, and the keys of inline tables
// (also inside arrays) in its value.
func (s *scanner) keyValue(table string, n *unstable.Node) {
	path := table
	var first *unstable.Node
	it := n.Key()
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		path = join(path, string(it.Node().Data))
	}
	s.record(path, first)
	s.value(path, n.Value())
}

func (s *scanner) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				s.keyValue(path, c)
			}
		}
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			elem := fmt.Sprintf("%s[%d]", path, i)
			i++
			if c.Kind == unstable.InlineTable {
				// The node's range is its opening brace: the element's line.
				s.record(elem, c)
			}
			s.value(elem, c)
		}
	}
}

// record keeps the first place a path is written (a later duplicate is
// go-toml's error to report), and the path written at every place, so that
// go-toml's error about the duplicate can be named by its full path.
func (s *scanner) record(path string, n *unstable.Node) {
	if n == nil || path == "" {
		return
	}
	p := s.idx.pos(int(n.Raw.Offset))
	if _, ok := s.out.byPos[p]; !ok {
		s.out.byPos[p] = path
	}
	if _, ok := s.out.at[path]; !ok {
		s.out.at[path] = p
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// offsetIn returns where sub starts in data, or -1 when sub is not a slice
// of data (a parser error without a highlight).
func offsetIn(data, sub []byte) int {
	if sub == nil {
		return -1
	}
	off := cap(data) - cap(sub)
	if off < 0 || off > len(data) {
		return -1
	}
	return off
}

// lineIndex turns byte offsets into lines in O(log n); the parser's own
// Shape rescans the document from the start on every call, which is
// quadratic over a document with many keys.
type lineIndex struct {
	starts []int // byte offset at which each line starts
}

func newLineIndex(data []byte) lineIndex {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return lineIndex{starts: starts}
}

func (x lineIndex) pos(off int) pos {
	i := sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return pos{line: i + 1, col: off - x.starts[i] + 1}
}

// lineOf returns the 1-based line of off, and the last line for an offset
// that is not known (-1): an error at an unknown place is at the end.
func (x lineIndex) lineOf(off int) int {
	if off < 0 {
		return len(x.starts)
	}
	return x.pos(off).line
}
