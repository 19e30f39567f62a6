package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in one file.
type Error struct {
	File  string // the file as it was named to Load, Parse or LoadKeyring
	Line  int    // 1-based; 0 when the problem has no line (a required key that is missing)
	Field string // the key path ("timers.deadtime", "udp[1].peer") or key file entry ("key 3"); may be empty
	Msg   string
}

// Error formats e as "file:line: field: msg", leaving out a zero line and an
// empty field, the form editors and `grep -n` users can jump to.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found; it implements error. Load, Parse and
// LoadKeyring return it sorted by line, problems without a line first.
type Errors []Error

// Error returns one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find a single Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// collector gathers the problems of one file. It knows where each key is
// written, so a rule names the key and gets the line for free.
type collector struct {
	file  string
	lines keyLines
	errs  Errors
}

// add records a problem with the key at path, on the line where path is
// written (or the line of its enclosing table when the key is not written).
func (c *collector) add(path, format string, args ...any) {
	c.errs = append(c.errs, Error{File: c.file, Line: c.lines.line(path), Field: path, Msg: fmt.Sprintf(format, args...)})
}

// addLine records a problem at an explicit line.
func (c *collector) addLine(line int, field, format string, args ...any) {
	c.errs = append(c.errs, Error{File: c.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// result returns the problems in line order, or nil when there are none.
func (c *collector) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	return sorted(c.errs)
}

func sorted(es Errors) Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}
