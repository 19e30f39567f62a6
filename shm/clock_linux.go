package shm

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// monoStart reads CLOCK_MONOTONIC and Go's clock together, for Now. Not
// go:linkname to runtime.nanotime: that may break with any Go release.
func monoStart() (int64, time.Time) {
	var ts unix.Timespec
	before := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(fmt.Sprintf("shm: read CLOCK_MONOTONIC: %v", err))
	}
	// The system call takes ~200 ns: pair its reading with the midpoint.
	return ts.Nano(), before.Add(time.Since(before) / 2)
}
