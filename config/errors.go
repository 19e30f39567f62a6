package config

import (
	"fmt"
	"sort"

	"github.com/hadcluster/had/fileerr"
)

// Error is one problem in one file: the key path ("timers.deadtime",
// "udp[1].peer") or key file entry ("key 3") is its Field.
type Error = fileerr.Error

// Errors is every problem found. Load, Parse and LoadKeyring return it
// sorted by line, problems without a line first.
type Errors = fileerr.Errors

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
