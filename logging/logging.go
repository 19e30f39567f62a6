// Package logging builds the root logger of every had program: zerolog
// JSON on stderr, one object per line, with the node and process names.
// Under systemd (JOURNAL_STREAM set) each line starts with the sd-daemon
// priority prefix ("<3>") and carries no timestamp, so the journal records
// the right priority and its own time.
package logging

import (
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// New returns the root logger for process proc on node, at level (a
// zerolog level name; info when empty or unknown).
func New(w io.Writer, proc, node, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	ctx := zerolog.New(w).Level(lvl).With()
	if os.Getenv("JOURNAL_STREAM") != "" {
		ctx = zerolog.New(journalWriter{w}).Level(lvl).With()
	} else {
		ctx = ctx.Timestamp()
	}
	return ctx.Str("node", node).Str("proc", proc).Logger()
}

// journalWriter prefixes each line with its sd-daemon priority.
type journalWriter struct{ w io.Writer }

var priority = map[zerolog.Level]string{
	zerolog.TraceLevel: "<7>", zerolog.DebugLevel: "<7>", zerolog.InfoLevel: "<6>",
	zerolog.WarnLevel: "<4>", zerolog.ErrorLevel: "<3>", zerolog.FatalLevel: "<2>", zerolog.PanicLevel: "<0>",
}

func (j journalWriter) Write(p []byte) (int, error) { return j.WriteLevel(zerolog.NoLevel, p) }

func (j journalWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	prefix, ok := priority[l]
	if !ok {
		prefix = "<6>"
	}
	if _, err := j.w.Write(append([]byte(prefix), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flushTimeout bounds how long a daemon's exit waits for its queued log
// lines.
const flushTimeout = 2 * time.Second

// NewDaemon is New for a daemon whose loops must never wait on the log (the
// heartbeat path and the supervisors): it writes through an Async queue.
// The returned exit flushes the queue and exits with code: call it instead
// of os.Exit, and at the end of main.
func NewDaemon(w io.Writer, proc, node, level string) (zerolog.Logger, func(code int)) {
	a := NewAsync(w, AsyncQueue)
	return New(a, proc, node, level), func(code int) {
		a.Flush(flushTimeout)
		os.Exit(code)
	}
}
