package agents

import "golang.org/x/sys/unix"

// errNoSuchProcess: reading /proc/PID/stat of a process that exits
// between the open and the read fails with ESRCH.
var errNoSuchProcess = unix.ESRCH
