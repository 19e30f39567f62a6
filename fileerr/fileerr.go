// Package fileerr is the one shape every input problem of had is reported
// in: "file:line: field: message", the form editors and `grep -n` users can
// jump to. The configuration, the key file and the tables use it, so that
// `had1 --check` prints one uniform list.
package fileerr

import (
	"strconv"
	"strings"
)

// Error is one problem in one file.
type Error struct {
	File  string // the file as it was named
	Line  int    // 1-based; 0 when the problem has no line (a required key that is missing)
	Field string // the key, option or entry concerned; may be empty
	Msg   string
}

// Error formats e as "file:line: field: msg", leaving out a zero line and an
// empty field.
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

// Errors is every problem found; it implements error.
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
