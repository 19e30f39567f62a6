package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// StartTime returns field 22 of /proc/PID/stat, the process's start time
// in clock ticks since boot: with the PID it names one process for good,
// which is how a supervisor tells a reused PID.
func StartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read start time of %d: %w", pid, err)
	}
	return parseStartTime(string(b))
}

// parseStartTime reads field 22 of a /proc/PID/stat line. Field 2, the
// command name, may hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseStartTime(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("parse /proc stat: no command name")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the name, want at least 20", len(f))
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc stat start time: %w", err)
	}
	return v, nil
}
