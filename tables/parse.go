package tables

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kinds maps the first word of a line to the parser of that kind of entry;
// each kind lives in its own file. Adding a kind is a new file and a line here.
var kinds = map[Kind]func(*rawEntry) Entry{
	KindVIP:     parseVIP,
	KindCmd:     parseCmd,
	KindService: parseService,
	KindOCF:     parseOCF,
	KindTee:     parseTee,
}

// Parse reads a table file's contents. file names the table in messages and
// in logs. It returns every problem at once as Errors ("file:line: field:
// message"), and no table unless there are none.
func Parse(file string, data []byte) (*Table, error) {
	var errs Errors
	lines, lexErrs := tokenize(data)
	for _, e := range lexErrs {
		errs = append(errs, Error{File: file, Line: e.line, Field: "syntax", Msg: e.msg})
	}
	t := &Table{
		File:   file,
		Name:   strings.TrimSuffix(filepath.Base(file), ".table"),
		Policy: DefaultPolicy(),
	}
	for _, l := range lines {
		if e := parseLine(file, l, &errs); e != nil {
			t.Entries = append(t.Entries, e)
		}
	}
	checkUnique(file, t.Entries, &errs)
	checkTeeOrder(file, t.Entries, &errs)
	slices.SortStableFunc(errs, func(a, b Error) int { return a.Line - b.Line })
	if len(errs) > 0 {
		return nil, errs
	}
	return t, nil
}

// parseLine turns one logical line into an entry, or reports why not.
func parseLine(file string, l logicalLine, errs *Errors) Entry {
	kw := l.toks[0]
	if kw.eq >= 0 {
		*errs = append(*errs, Error{File: file, Line: l.num, Field: "kind",
			Msg: fmt.Sprintf("a line starts with its kind (%s), not with an option", kindList())})
		return nil
	}
	parse, ok := kinds[Kind(kw.text)]
	if !ok {
		*errs = append(*errs, Error{File: file, Line: l.num, Field: "kind",
			Msg: fmt.Sprintf("unknown kind %q (want %s)", kw.text, kindList())})
		return nil
	}
	r := &rawEntry{file: file, line: l.num, kind: Kind(kw.text), errs: errs, used: map[string]bool{}}
	for _, tk := range l.toks[1:] {
		if tk.eq < 0 {
			r.args = append(r.args, tk.text)
			continue
		}
		key, val := tk.text[:tk.eq], tk.text[tk.eq+1:]
		if !optionKey.MatchString(key) {
			r.errorf("syntax", "bad option name %q (want key=value with a lower-case key)", key)
			continue
		}
		if slices.ContainsFunc(r.opts, func(o option) bool { return o.key == key }) {
			r.errorf(key, "given twice")
			continue
		}
		r.opts = append(r.opts, option{key, val})
	}
	before := len(*errs)
	e := parse(r)
	r.finish()
	if len(*errs) > before {
		return nil
	}
	return e
}

var optionKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func kindList() string {
	ks := make([]string, 0, len(kinds))
	for k := range kinds {
		ks = append(ks, string(k))
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// checkUnique reports entries that share a name or a virtual IP address:
// the console and the logs name entries, and one address held twice is a
// configuration mistake whatever its devices.
func checkUnique(file string, es []Entry, errs *Errors) {
	names := map[string]int{}
	addrs := map[string]int{}
	for _, e := range es {
		if prev, ok := names[e.Name()]; ok {
			*errs = append(*errs, Error{File: file, Line: e.Line(), Field: "name",
				Msg: fmt.Sprintf("duplicate name %q (also on line %d)", e.Name(), prev)})
		} else {
			names[e.Name()] = e.Line()
		}
		v, ok := e.(vipHolder)
		if !ok {
			continue
		}
		a := v.VIP().Prefix.Addr().String()
		if prev, ok := addrs[a]; ok {
			*errs = append(*errs, Error{File: file, Line: e.Line(), Field: "address",
				Msg: fmt.Sprintf("duplicate virtual IP %s (also on line %d)", a, prev)})
		} else {
			addrs[a] = e.Line()
		}
	}
}

// rawEntry is one line split into positional arguments and options, with
// helpers that let a kind's parser take what it knows and report the rest.
type rawEntry struct {
	file string
	line int
	kind Kind
	args []string
	opts []option
	used map[string]bool
	errs *Errors
}

type option struct{ key, val string }

func (r *rawEntry) errorf(field, format string, a ...any) {
	*r.errs = append(*r.errs, Error{File: r.file, Line: r.line, Field: field, Msg: fmt.Sprintf(format, a...)})
}

// take returns an option's value and marks it as known.
func (r *rawEntry) take(key string) (string, bool) {
	r.used[key] = true
	for _, o := range r.opts {
		if o.key == key {
			return o.val, true
		}
	}
	return "", false
}

// given reports whether the line has the option, without taking it.
func (r *rawEntry) given(key string) bool {
	return slices.ContainsFunc(r.opts, func(o option) bool { return o.key == key })
}

// str returns a string option, which may not be empty when given.
func (r *rawEntry) str(key string, required bool) string {
	v, ok := r.take(key)
	switch {
	case !ok && required:
		r.errorf(key, "required")
	case ok && strings.TrimSpace(v) == "":
		r.errorf(key, "empty (leave the option out instead)")
		return ""
	}
	return v
}

// duration returns a duration option in [lo, hi], or def when absent.
func (r *rawEntry) duration(key string, def, lo, hi time.Duration) time.Duration {
	v, ok := r.take(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.errorf(key, "%q is not a duration with a unit, e.g. 500ms or 5s", v)
		return def
	}
	if d < lo || d > hi {
		r.errorf(key, "%v is out of range [%v, %v]", d, lo, hi)
		return def
	}
	return d
}

// integer returns an integer option in [lo, hi], or def when absent.
func (r *rawEntry) integer(key string, def, lo, hi int) int {
	v, ok := r.take(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.errorf(key, "%q is not a whole number", v)
		return def
	}
	if n < lo || n > hi {
		r.errorf(key, "%d is out of range [%d, %d]", n, lo, hi)
		return def
	}
	return n
}

// base reads the options every kind has: name (defaulting to defName) and
// timeout.
func (r *rawEntry) base(defName string) base {
	b := base{line: r.line, name: defName, timeout: DefaultTimeout}
	if n, ok := r.take("name"); ok {
		if !entryName.MatchString(n) {
			r.errorf("name", "%q is not a name (letters, digits and _.:@-, at most 64)", n)
		}
		b.name, b.named = n, true
	}
	b.timeout = r.duration("timeout", DefaultTimeout, time.Millisecond, 24*time.Hour)
	return b
}

var entryName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$`)

// finish reports options no one took.
func (r *rawEntry) finish() {
	for _, o := range r.opts {
		if !r.used[o.key] {
			r.errorf(o.key, "unknown option for %s", r.kind)
		}
	}
}

// DefaultTimeout bounds one step of an entry whose line sets no timeout.
const DefaultTimeout = 10 * time.Second

// base holds what every entry has.
type base struct {
	line    int
	name    string
	named   bool // name was given, so String writes it back
	timeout time.Duration
}

func (b *base) Name() string           { return b.name }
func (b *base) Line() int              { return b.line }
func (b *base) Timeout() time.Duration { return b.timeout }

// words formats the common options for String.
func (b *base) words() []string {
	var w []string
	if b.named {
		w = append(w, "name="+quote(b.name))
	}
	if b.timeout != DefaultTimeout {
		w = append(w, "timeout="+b.timeout.String())
	}
	return w
}
