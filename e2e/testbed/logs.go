package testbed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dumpTail is how many lines of each log a failed test shows.
const dumpTail = 40

// dumpLogs shows the end of every log of the bed in the test output, so a
// failed CI run can be read without the (already deleted) directory.
func (b *Bed) dumpLogs(t testing.TB) {
	files, _ := filepath.Glob(filepath.Join(b.dir, "log", "*.log"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > dumpTail {
			lines = lines[len(lines)-dumpTail:]
		}
		t.Logf("--- %s (last %d lines)\n%s", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
}
