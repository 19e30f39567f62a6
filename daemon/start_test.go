package daemon

import (
	"os"
	"testing"
)

func TestParseStartTime(t *testing.T) {
	fields := "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 98765 21 22"
	tests := []struct {
		name, stat string
		want       uint64
		ok         bool
	}{
		{"plain", "42 (had-sender) " + fields, 98765, true},
		{"name with spaces and parens", "42 (a) b (c)) " + fields, 98765, true},
		{"no name", "42 had " + fields, 0, false},
		{"too short", "42 (x) S 1 2", 0, false},
		{"not a number", "42 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 soon", 0, false},
	}
	for _, tt := range tests {
		got, err := parseStartTime(tt.stat)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: got %d, %v; want %d, ok %v", tt.name, got, err, tt.want, tt.ok)
		}
	}
	if st, err := StartTime(os.Getpid()); err != nil || st == 0 {
		t.Errorf("own start time: got %d, %v", st, err)
	}
}
