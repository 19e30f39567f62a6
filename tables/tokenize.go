package tables

import (
	"strings"
	"unicode/utf8"
)

// token is one word of a table line after quote removal.
type token struct {
	text string
	// eq is the index in text of the first '=' that was neither quoted nor
	// escaped, or -1: it is what makes a word an option (key=value) rather
	// than a positional argument, so `'a=b'` stays an argument.
	eq int
}

// logicalLine is one entry's words; a line continued with a trailing
// backslash counts as the line it starts on.
type logicalLine struct {
	num  int
	toks []token
}

// lexError is a syntax problem on one physical line.
type lexError struct {
	line int
	msg  string
}

// tokenize splits a table file into logical lines of words, with the rules
// of a POSIX shell cut down to what a table needs:
//
//   - words are separated by blanks (space, tab, CR, VT, FF);
//   - '#' at the start of a word comments out the rest of the line;
//   - outside quotes, a backslash takes the next character literally, and a
//     backslash before a newline joins the next line;
//   - '…' is literal; "…" is literal except that \" and \\ stand for " and \
//     and a backslash before a newline joins the next line (every other
//     backslash is kept, because the text usually goes on to /bin/sh);
//   - a quote may not span lines, so that one missing quote cannot swallow
//     the rest of the file.
//
// A line with a syntax error is reported and dropped, and tokenizing goes on
// with the next line, so that every problem is listed at once.
func tokenize(data []byte) ([]logicalLine, []lexError) {
	var (
		lines []logicalLine
		errs  []lexError
		ln    = 1 // physical line of data[i]
		cur   = logicalLine{num: 1}
		tb    []byte
		inTok bool
		eq    = -1
	)
	flush := func() bool {
		if !inTok {
			return true
		}
		if !utf8.Valid(tb) {
			return false
		}
		cur.toks = append(cur.toks, token{text: string(tb), eq: eq})
		tb, inTok, eq = tb[:0], false, -1
		return true
	}
	i := 0
	// fail records msg, drops the current logical line and moves i to the
	// end of the physical line, where the main loop starts the next one.
	fail := func(msg string) {
		errs = append(errs, lexError{line: ln, msg: msg})
		cur.toks, tb, inTok, eq = nil, tb[:0], false, -1
		for i < len(data) && data[i] != '\n' {
			i++
		}
	}
	for i < len(data) {
		c := data[i]
		switch {
		case c == '\n':
			if !flush() {
				fail("invalid UTF-8")
				continue
			}
			if len(cur.toks) > 0 {
				lines = append(lines, cur)
			}
			ln++
			i++
			cur = logicalLine{num: ln}
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			if !flush() {
				fail("invalid UTF-8")
				continue
			}
			i++
		case c == 0:
			fail("NUL byte")
		case c == '#' && !inTok:
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == '\\':
			switch {
			case i+1 >= len(data):
				fail("backslash at end of file")
			case data[i+1] == '\n':
				ln++
				i += 2
			case data[i+1] == '\r' && i+2 < len(data) && data[i+2] == '\n':
				ln++
				i += 3
			case data[i+1] == 0:
				i++
				fail("NUL byte")
			default:
				tb = append(tb, data[i+1])
				inTok = true
				i += 2
			}
		case c == '\'':
			inTok = true
			j := i + 1
			for j < len(data) && data[j] != '\'' && data[j] != '\n' && data[j] != 0 {
				j++
			}
			if j >= len(data) || data[j] != '\'' {
				i = j
				if j < len(data) && data[j] == 0 {
					fail("NUL byte")
				} else {
					fail("unterminated single quote")
				}
				continue
			}
			tb = append(tb, data[i+1:j]...)
			i = j + 1
		case c == '"':
			inTok = true
			i++
			closed := false
		dq:
			for i < len(data) {
				d := data[i]
				switch {
				case d == '"':
					closed = true
					i++
					break dq
				case d == '\n', d == 0:
					// leave i here: the error is on this line
					break dq
				case d == '\\' && i+1 < len(data) && (data[i+1] == '"' || data[i+1] == '\\'):
					tb = append(tb, data[i+1])
					i += 2
				case d == '\\' && i+1 < len(data) && data[i+1] == '\n':
					ln++
					i += 2
				case d == '\\' && i+2 < len(data) && data[i+1] == '\r' && data[i+2] == '\n':
					ln++
					i += 3
				default:
					tb = append(tb, d)
					i++
				}
			}
			if !closed {
				if i < len(data) && data[i] == 0 {
					fail("NUL byte")
				} else {
					fail("unterminated double quote")
				}
			}
		case c == '=':
			if eq < 0 {
				eq = len(tb)
			}
			tb = append(tb, c)
			inTok = true
			i++
		default:
			tb = append(tb, c)
			inTok = true
			i++
		}
	}
	if !flush() {
		fail("invalid UTF-8")
	}
	if len(cur.toks) > 0 {
		lines = append(lines, cur)
	}
	return lines, errs
}

// quote returns s as one table word that tokenize reads back as s (with no
// unquoted '='). Plain words stay bare, for readable canonical output.
func quote(s string) string {
	if s != "" && strings.Trim(s, safeChars) == "" {
		return s
	}
	if !strings.ContainsRune(s, '\'') {
		return "'" + s + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// safeChars need no quoting anywhere in a word. '#' and '=' are left out:
// they mean something at the start of a word and in an argument.
const safeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,-"

// word formats a token back into table syntax.
func (t token) word() string {
	if t.eq < 0 {
		return quote(t.text)
	}
	return quote(t.text[:t.eq]) + "=" + quote(t.text[t.eq+1:])
}
