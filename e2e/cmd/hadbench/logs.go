package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// logLine is one line of a had log: zerolog JSON with RFC3339Nano times
// from the wall clock, the same clock as the benchmark's own time.Now.
type logLine struct {
	Time   time.Time
	Proc   string
	Msg    string
	Fields map[string]any
}

// parseLogLine decodes one line; lines that are not had's JSON (the
// testbed's "### start" markers, a child's stray output) are skipped.
func parseLogLine(b []byte) (logLine, bool) {
	if len(b) == 0 || b[0] != '{' {
		return logLine{}, false
	}
	var f map[string]any
	if json.Unmarshal(b, &f) != nil {
		return logLine{}, false
	}
	ts, _ := f["time"].(string)
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return logLine{}, false
	}
	l := logLine{Time: at, Fields: f}
	l.Proc, _ = f["proc"].(string)
	l.Msg, _ = f["message"].(string)
	return l, true
}

// str is a string field of the line ("" when absent).
func (l logLine) str(key string) string {
	s, _ := l.Fields[key].(string)
	return s
}

// num is a numeric field of the line (0 when absent).
func (l logLine) num(key string) float64 {
	v, _ := l.Fields[key].(float64)
	return v
}

// scanLog calls fn for every line of the log at path logged after the
// instant after, in file order, until fn returns false.
func scanLog(path string, after time.Time, fn func(logLine) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l, ok := parseLogLine(bytes.TrimSpace(sc.Bytes()))
		if !ok || !l.Time.After(after) {
			continue
		}
		if !fn(l) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read log %s: %w", path, err)
	}
	return nil
}

// firstLog returns the first line after the instant after that match
// accepts; ok is false when there is none.
func firstLog(path string, after time.Time, match func(logLine) bool) (l logLine, ok bool, err error) {
	err = scanLog(path, after, func(x logLine) bool {
		if match(x) {
			l, ok = x, true
			return false
		}
		return true
	})
	return l, ok, err
}

// countLog counts the lines after the instant after that match accepts.
func countLog(path string, after time.Time, match func(logLine) bool) (int, error) {
	n := 0
	err := scanLog(path, after, func(x logLine) bool {
		if match(x) {
			n++
		}
		return true
	})
	return n, err
}
