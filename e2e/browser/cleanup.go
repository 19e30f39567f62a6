package browser

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// killLeftovers kills the processes whose command line carries our profile
// directory. Chromium passes --user-data-dir to every child it forks (zygote,
// renderer, utility processes), and the directory is unique to this Browser,
// so these are exactly the processes we started. A child can outlive a killed
// parent, or be forked just as it dies, so look until a few passes in a row
// find nothing.
func killLeftovers(dir string) {
	want := []byte("--user-data-dir=" + dir)
	deadline := time.Now().Add(3 * time.Second)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); {
		if killUsing(want) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(10 * time.Millisecond) // pass period, not a condition wait
	}
}

// killUsing SIGKILLs the processes with arg in their command line, by PID,
// and returns how many it found.
func killUsing(arg []byte) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for a := range bytes.SplitSeq(cmdline, []byte{0}) {
			if bytes.Equal(a, arg) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				n++
				break
			}
		}
	}
	return n
}

// Running counts the processes still using the profile directory dir; tests
// use it to check that Close left nothing behind.
func Running(dir string) int {
	want := []byte("--user-data-dir=" + dir)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		// A zombie has an empty command line: it is dead, only unreaped.
		for a := range bytes.SplitSeq(cmdline, []byte{0}) {
			if bytes.Equal(a, want) {
				n++
				break
			}
		}
	}
	return n
}

// removeAll removes the profile directory. A dying child can still create
// files in it for a moment, and then RemoveAll says "directory not empty":
// try again until a deadline.
func removeAll(dir string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.RemoveAll(dir)
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("remove profile %s: %w", dir, err)
			}
			return nil
		}
		time.Sleep(20 * time.Millisecond) // retry period
	}
}

// syncWriter serializes writes, as Chromium's output is copied from more
// than one goroutine.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
