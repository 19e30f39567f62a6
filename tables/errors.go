package tables

import (
	"fmt"
	"strings"
)

// Error is one problem found in a table file, with the file, the line and
// the field it concerns. The config package reports its errors in the same
// shape, so that `had1 --check` prints one uniform list.
type Error struct {
	File  string
	Line  int    // 1-based; 0 when the problem concerns the whole file
	Field string // the option, "kind", "address", "syntax" …; may be empty
	Msg   string
}

// Error formats the problem as "file:line: field: message".
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one table file, in line order.
type Errors []Error

// Error lists every problem, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// err returns es as an error, or a true nil when es is empty (a nil Errors
// stored in an error interface would not compare equal to nil).
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
