package shm

import (
	"math"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// x/sys has SYS_FUTEX but no op constants (libraries.md §2). The private
// flag (128) must NOT be set: private futexes do not wake other processes.
const (
	futexWait = 0 // FUTEX_WAIT
	futexWake = 1 // FUTEX_WAKE
)

// futexWaitOn sleeps while *addr == val, at most timeout (a relative
// CLOCK_MONOTONIC timeout). EAGAIN (value differs), ETIMEDOUT, EINTR and
// spurious wakes all just return.
func futexWaitOn(addr *uint32, val uint32, timeout time.Duration) {
	ts := unix.NsecToTimespec(int64(timeout))
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWakeAll wakes every waiter on addr, in any process. Raw: a wake
// never blocks, and a plain system call would wake Go's monitor thread.
func futexWakeAll(addr *uint32) {
	unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake, math.MaxInt32, 0, 0, 0)
}
