package tables

import (
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	type tok = token
	tests := []struct {
		name  string
		in    string
		lines []logicalLine
		errs  []lexError
	}{
		{"empty", "", nil, nil},
		{"blank and comment", "\n  # a comment\n\t\n", nil, nil},
		{"words", "vip 10.0.0.1/32 dev=eth0\n", []logicalLine{{1, []tok{{"vip", -1}, {"10.0.0.1/32", -1}, {"dev=eth0", 3}}}}, nil},
		{"no final newline", "a b", []logicalLine{{1, []tok{{"a", -1}, {"b", -1}}}}, nil},
		{"crlf", "a b\r\nc\r\n", []logicalLine{{1, []tok{{"a", -1}, {"b", -1}}}, {2, []tok{{"c", -1}}}}, nil},
		{"trailing comment", "a b # c d\ne", []logicalLine{{1, []tok{{"a", -1}, {"b", -1}}}, {2, []tok{{"e", -1}}}}, nil},
		{"hash inside a word", "a#b", []logicalLine{{1, []tok{{"a#b", -1}}}}, nil},
		{"double quotes", `start="/bin/x start" s="a \"b\" \\ \$c"`,
			[]logicalLine{{1, []tok{{"start=/bin/x start", 5}, {`s=a "b" \ \$c`, 1}}}}, nil},
		{"single quotes", `x='a "b" \c'`, []logicalLine{{1, []tok{{`x=a "b" \c`, 1}}}}, nil},
		{"quoted equals is an argument", `'a=b' "c=d" e\=f`, []logicalLine{{1, []tok{{"a=b", -1}, {"c=d", -1}, {"e=f", -1}}}}, nil},
		{"quoted key", `"a b"=c`, []logicalLine{{1, []tok{{"a b=c", 3}}}}, nil},
		{"empty quotes", `x="" ''`, []logicalLine{{1, []tok{{"x=", 1}, {"", -1}}}}, nil},
		{"adjacent quotes", `a'b'"c"d`, []logicalLine{{1, []tok{{"abcd", -1}}}}, nil},
		{"backslash escapes", `a\ b \#c \\`, []logicalLine{{1, []tok{{"a b", -1}, {"#c", -1}, {`\`, -1}}}}, nil},
		{"continuation", "a \\\n  b\nc", []logicalLine{{1, []tok{{"a", -1}, {"b", -1}}}, {3, []tok{{"c", -1}}}}, nil},
		{"continuation joins words", "a\\\nb", []logicalLine{{1, []tok{{"ab", -1}}}}, nil},
		{"continuation in double quotes", "x=\"a \\\nb\"\nc", []logicalLine{{1, []tok{{"x=a b", 1}}}, {3, []tok{{"c", -1}}}}, nil},
		{"continuation crlf", "a \\\r\nb", []logicalLine{{1, []tok{{"a", -1}, {"b", -1}}}}, nil},
		{"unterminated double", "ok\nx=\"abc\nnext", []logicalLine{{1, []tok{{"ok", -1}}}, {3, []tok{{"next", -1}}}},
			[]lexError{{2, "unterminated double quote"}}},
		{"unterminated single", "x='abc\nnext", []logicalLine{{2, []tok{{"next", -1}}}}, []lexError{{1, "unterminated single quote"}}},
		{"backslash at eof", `a \`, nil, []lexError{{1, "backslash at end of file"}}},
		{"nul", "a\x00b c\nd", []logicalLine{{2, []tok{{"d", -1}}}}, []lexError{{1, "NUL byte"}}},
		{"bad utf-8", "a \xff\nd", []logicalLine{{2, []tok{{"d", -1}}}}, []lexError{{1, "invalid UTF-8"}}},
		{"error on a continued line", "a \\\n'b\nc", []logicalLine{{3, []tok{{"c", -1}}}}, []lexError{{2, "unterminated single quote"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, errs := tokenize([]byte(tt.in))
			if !reflect.DeepEqual(lines, tt.lines) {
				t.Errorf("lines: got %+v, want %+v", lines, tt.lines)
			}
			if !reflect.DeepEqual(errs, tt.errs) {
				t.Errorf("errors: got %+v, want %+v", errs, tt.errs)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"eth0", "eth0"},
		{"10.0.0.1/32", "10.0.0.1/32"},
		{"", "''"},
		{"a b", "'a b'"},
		{"a=b", "'a=b'"},
		{"#x", "'#x'"},
		{`it's "x" \`, `"it's \"x\" \\"`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzTokenize checks that tokenize never panics, that line numbers stay in
// the file, and that every line, written back with quote, reads back the
// same.
func FuzzTokenize(f *testing.F) {
	seeds := []string{
		"vip 10.213.0.100/32 dev=eth0 garp_count=3\n",
		`cmd name=web start="/usr/sbin/websvc start" stop='x y' status=a\ b` + "\n",
		"# comment\n\n  a \\\n b\r\n",
		`"unterminated`,
		"x='a\nb'",
		`a"b\"c\\d\e"f`,
		"\x00\xff",
		`"a b"=c 'd=e' f\=g`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, errs := tokenize(data)
		n := strings.Count(string(data), "\n") + 1
		for _, e := range errs {
			if e.line < 1 || e.line > n {
				t.Fatalf("error on line %d of a %d-line input", e.line, n)
			}
		}
		for _, l := range lines {
			if l.num < 1 || l.num > n || len(l.toks) == 0 {
				t.Fatalf("bad line %+v of a %d-line input", l, n)
			}
			words := make([]string, len(l.toks))
			for i, tk := range l.toks {
				if tk.eq >= len(tk.text) || (tk.eq >= 0 && tk.text[tk.eq] != '=') {
					t.Fatalf("token %+v: eq out of place", tk)
				}
				words[i] = tk.word()
			}
			text := strings.Join(words, " ")
			again, errs := tokenize([]byte(text))
			if len(errs) > 0 || len(again) != 1 || !reflect.DeepEqual(again[0].toks, l.toks) {
				t.Fatalf("%q re-read as %+v (errors %v), want %+v", text, again, errs, l.toks)
			}
		}
	})
}
