package shm

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLayoutNumbers keeps LAYOUT.md's figures true.
func TestLayoutNumbers(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"SlotCount", SlotCount, 132},
		{"FileSize", FileSize, 34048},
		{"text offset", soText, 144},
		{"slot size", soText + TextSize, SlotSize},
		{"fsm slot", SlotFSM0, 8},
		{"path slot", SlotPath0, 12},
		{"agent 0 slot", SlotAgent0, 36},
		{"ring slot", SlotRing0, 20},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d (update LAYOUT.md)", c.name, c.got, c.want)
		}
	}
}

// docExample returns the fenced code block of lang in LAYOUT.md.
func docExample(t *testing.T, lang string) string {
	b, err := os.ReadFile("LAYOUT.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s example in LAYOUT.md", lang)
	}
	return string(m[1])
}

// TestLayoutExamples runs LAYOUT.md's C and Python writers against a table
// made by Go, and reads what they wrote.
func TestLayoutExamples(t *testing.T) {
	dir := t.TempDir()
	py := filepath.Join(dir, "write_slot.py")
	if err := os.WriteFile(py, []byte(docExample(t, "python")), 0o600); err != nil {
		t.Fatal(err)
	}
	csrc := filepath.Join(dir, "write_slot.c")
	if err := os.WriteFile(csrc, []byte(docExample(t, "c")), 0o600); err != nil {
		t.Fatal(err)
	}
	cbin := filepath.Join(dir, "write_slot")
	tests := []struct {
		name  string
		build []string
		run   []string
		texts []string
	}{
		// The C example cuts bytes, not runes: its caller keeps text short.
		{"c", []string{"cc", "-O2", "-Wall", "-Werror", "-o", cbin, csrc}, []string{cbin},
			[]string{"disk 91% full ✓", strings.Repeat("ab", 80)}},
		{"python", nil, []string{python3(), py},
			[]string{"disk 91% full ✓", strings.Repeat("x", TextSize-1) + "é and more"}},
	}
	tb := createTable(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath(append(tc.build, tc.run...)[0]); err != nil {
				t.Skipf("no %s here", tc.name)
			}
			if tc.build != nil {
				if out, err := exec.Command(tc.build[0], tc.build[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("build: %v\n%s", err, out)
				}
			}
			slot := SlotAgent0 + 2*i + 1
			for n, text := range tc.texts {
				before := Now()
				args := append(tc.run[1:], tb.Path(), strconv.Itoa(slot), strconv.Itoa(int(Warning)), text)
				if out, err := exec.Command(tc.run[0], args...).CombinedOutput(); err != nil {
					t.Fatalf("run: %v\n%s", err, out)
				}
				got, err := tb.Read(slot)
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				want := Record{Type: TypeAgent, Value: Warning, Stamp: got.Stamp, PID: got.PID, Counter: uint64(n + 1), Text: cutText(text)}
				if tc.name == "python" {
					want.Counter = 0
				}
				if got != want {
					t.Errorf("got %+v, want %+v", got, want)
				}
				if got.Stamp < before || got.Stamp > Now() || got.PID <= 0 {
					t.Errorf("stamp %d, pid %d: want a CLOCK_MONOTONIC stamp in [%d, now] and a PID", got.Stamp, got.PID, before)
				}
			}
		})
	}
}

// python3 prefers the system's interpreter: a pyenv shim adds a second or so
// to every run.
func python3() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}
