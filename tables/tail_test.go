package tables

import (
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		n      int
		want   string
	}{
		{"empty", 64, nil, 5, ""},
		{"short", 64, []string{"a\nb\n"}, 5, "a\nb"},
		{"last lines, blanks skipped", 64, []string{"1\n2\n\n3\r\n", "4\n  \n5"}, 3, "3\n4\n5"},
		{"cut first line dropped", 8, []string{"abcdefgh\nxyz\n"}, 5, "xyz"},
		{"one huge write", 4, []string{"0123456789"}, 5, "6789"},
		{"many writes", 6, []string{"aa\n", "bb\n", "cc\n", "dd\n"}, 5, "dd"},
		{"long line cut", 1024, []string{strings.Repeat("x", 300)}, 5, strings.Repeat("x", 200) + "…"},
	}
	for _, tt := range tests {
		tl := newTail(tt.max)
		for _, w := range tt.writes {
			tl.Write([]byte(w))
		}
		if got := tl.lines(tt.n, 200); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
