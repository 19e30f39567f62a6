package agents

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/hadcluster/had/config"
)

// procSource is the part of /proc the process agent reads.
type procSource interface {
	PIDs() ([]int, error)
	Stat(pid int) (procStat, error) // fs.ErrNotExist when the process is gone
	ReadFile(path string) ([]byte, error)
}

// procStat is what the process agent needs of /proc/PID/stat.
type procStat struct {
	Comm  string // the name, as in /proc/PID/comm
	State byte   // 'R', 'S', 'Z'…
}

// processCheck: a process is alive, by exact name or by pid file (whose
// PID must run, and have the name when one is given too). A zombie is
// not alive: it has exited and only waits for its parent.
type processCheck struct {
	name, pidFile string
	src           procSource
	last          int // the PID found last time, tried first
}

func newProcess(a config.Agent) *processCheck {
	return &processCheck{name: a.Process, pidFile: a.PIDFile, src: procFS{}}
}

func (c *processCheck) Check(ctx context.Context) Result {
	if c.pidFile != "" {
		return c.byPIDFile()
	}
	if c.last > 0 {
		if st, err := c.src.Stat(c.last); err == nil && st.Comm == c.name && st.State != 'Z' {
			return okf("%s runs (pid %d)", c.name, c.last)
		}
		c.last = 0
	}
	pids, err := c.src.PIDs()
	if err != nil {
		return errorf("list processes: %v", err)
	}
	for _, pid := range pids {
		if ctx.Err() != nil {
			return errorf("%v", ctx.Err())
		}
		if st, err := c.src.Stat(pid); err == nil && st.Comm == c.name && st.State != 'Z' {
			c.last = pid
			return okf("%s runs (pid %d)", c.name, pid)
		}
	}
	return errorf("no process named %q", c.name)
}

func (c *processCheck) byPIDFile() Result {
	b, err := c.src.ReadFile(c.pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return errorf("pid file %s does not exist", c.pidFile)
	} else if err != nil {
		return errorf("read pid file: %v", err)
	}
	pid, err := parsePIDFile(b)
	if err != nil {
		return errorf("pid file %s: %v", c.pidFile, err)
	}
	st, err := c.src.Stat(pid)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errorf("pid %d from %s does not run", pid, c.pidFile)
	case err != nil:
		return errorf("read process %d: %v", pid, err)
	case st.State == 'Z':
		return errorf("pid %d from %s has exited (zombie)", pid, c.pidFile)
	case c.name != "" && st.Comm != c.name:
		return errorf("pid %d from %s is %q, not %q (a stale pid file?)", pid, c.pidFile, st.Comm, c.name)
	}
	return okf("%s runs (pid %d)", st.Comm, pid)
}

// parsePIDFile reads the PID on the first line of a pid file.
func parsePIDFile(b []byte) (int, error) {
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	pid, err := strconv.Atoi(line)
	if err != nil || pid <= 0 || pid > 1<<22 { // PID_MAX_LIMIT
		return 0, fmt.Errorf("%q is not a PID", line)
	}
	return pid, nil
}

// parseProcStat reads the name and state from a /proc/PID/stat line. The
// name is in parentheses and may itself hold spaces and parentheses, so it
// runs to the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || end+2 >= len(s) || s[end+1] != ' ' {
		return procStat{}, errors.New("parse /proc stat: no name and state")
	}
	return procStat{Comm: s[open+1 : end], State: s[end+2]}, nil
}

// procFS is the real /proc.
type procFS struct{}

func (procFS) PIDs() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func (procFS) Stat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNoSuchProcess) {
			return procStat{}, fs.ErrNotExist
		}
		return procStat{}, err
	}
	return parseProcStat(b)
}

func (procFS) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }
