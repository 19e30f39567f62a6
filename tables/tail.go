package tables

import (
	"strings"
	"sync"
)

// tail keeps the last bytes written to it, for the error message of a
// failed command: enough to show why, never the whole output of a chatty
// script.
type tail struct {
	mu    sync.Mutex
	buf   []byte
	max   int
	total int64
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(len(p))
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// lines returns the last n non-blank lines, newline-separated, each cut to
// maxLine bytes. A first line that was cut by the buffer is dropped unless
// it is all there is.
func (t *tail) lines(n, maxLine int) string {
	t.mu.Lock()
	s := string(t.buf)
	cut := t.total > int64(len(t.buf))
	t.mu.Unlock()
	all := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	if cut && len(all) > 1 {
		all = all[1:]
	}
	var keep []string
	for i := len(all) - 1; i >= 0 && len(keep) < n; i-- {
		l := strings.TrimSpace(all[i])
		if l == "" {
			continue
		}
		if len(l) > maxLine {
			l = l[:maxLine] + "…"
		}
		keep = append(keep, l)
	}
	for i, j := 0, len(keep)-1; i < j; i, j = i+1, j-1 {
		keep[i], keep[j] = keep[j], keep[i]
	}
	return strings.Join(keep, "\n")
}
