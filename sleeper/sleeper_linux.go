// Package sleeper puts a daemon's main loop to sleep until a deadline, a
// watched descriptor (a doorbell's pipe) or a Wake, at the cost of one
// thread wake-up per event.
//
// A wake-up is the unit of a node's idle budget: 50–600 µs of CPU each on
// the VMs we measured, whatever the work. A loop woken ten times a second
// by a time.Timer ran the process's threads 45–90 times a second there, and
// by a futex with a timeout 50–68 times: Go's netpoller waits in whole
// milliseconds (so it wakes once early and once after the deadline), and
// every blocking system call wakes the runtime's monitor thread (sysmon),
// which then polls every 20 µs until the process is idle again. A Sleeper
// waits on an epoll set of its own (a timerfd, an eventfd, the watched
// descriptors) placed in Go's netpoller, and makes only raw, non-blocking
// system calls: 11–13 runs a second for the same loop.
package sleeper

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sleeper is one loop's sleep. Sleep and Watch belong to that loop's
// goroutine; Postpone may be called from any goroutine before Close, Wake
// also after it.
type Sleeper struct {
	set   *os.File // the epoll set, itself in Go's netpoller
	rc    syscall.RawConn
	timer int // timerfd on CLOCK_MONOTONIC, armed with absolute times
	evs   [8]unix.EpollEvent
	buf   [64]byte

	mu     sync.Mutex // guards wake against Close
	wake   int        // eventfd that Wake writes
	closed bool
}

// New makes a Sleeper watching nothing yet.
func New() (*Sleeper, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sleeper: epoll: %w", err)
	}
	s := &Sleeper{timer: -1, wake: -1}
	fail := func(what string, err error) (*Sleeper, error) {
		for _, fd := range []int{ep, s.timer, s.wake} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		return nil, fmt.Errorf("sleeper: %s: %w", what, err)
	}
	if s.timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fail("timerfd", err)
	}
	if s.wake, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fail("eventfd", err)
	}
	for _, fd := range []int{s.timer, s.wake} {
		if err := add(ep, fd); err != nil {
			return fail("epoll add", err)
		}
	}
	// Non-blocking, so that os.NewFile puts the set in the netpoller.
	if err := unix.SetNonblock(ep, true); err != nil {
		return fail("epoll non-blocking", err)
	}
	s.set = os.NewFile(uintptr(ep), "sleeper")
	if s.rc, err = s.set.SyscallConn(); err != nil {
		s.set.Close()
		unix.Close(s.timer)
		unix.Close(s.wake)
		return nil, fmt.Errorf("sleeper: %w", err)
	}
	return s, nil
}

func add(ep, fd int) error {
	return unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

// Watch makes fd's becoming readable end a Sleep. fd must be non-blocking;
// Sleep drains what it can read from it (the bytes carry no meaning). The
// caller keeps fd open while the Sleeper lives and closes it afterwards.
func (s *Sleeper) Watch(fd int) error {
	var err error
	if cerr := s.rc.Control(func(ep uintptr) { err = add(int(ep), fd) }); cerr != nil {
		return fmt.Errorf("sleeper: watch: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("sleeper: watch fd %d: %w", fd, err)
	}
	return nil
}

// Sleep returns once the CLOCK_MONOTONIC time until (in nanoseconds; shm.Now
// reads that clock) has come, a watched descriptor became readable, or Wake
// was called since the last Sleep; at once if until has passed. Callers
// loop, checking what woke them.
func (s *Sleeper) Sleep(until int64) {
	s.arm(until)
	s.rc.Read(s.collect)
}

// Postpone moves the deadline of the Sleep in progress to until. It may be
// called from any goroutine before Close: by one that did the sleeping
// loop's due work itself, and so spares the loop a wake-up. A Sleep that
// starts afterwards sets its own deadline, and one whose deadline has
// already passed may still return: the loop plans again.
func (s *Sleeper) Postpone(until int64) { s.arm(until) }

func (s *Sleeper) arm(until int64) {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(until, 1))} // zero would disarm
	unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(s.timer), unix.TFD_TIMER_ABSTIME,
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

// collect takes what is ready in the set without waiting: true if
// anything was.
func (s *Sleeper) collect(ep uintptr) bool {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, ep, uintptr(unsafe.Pointer(&s.evs[0])),
		uintptr(len(s.evs)), 0, 0, 0)
	if errno != 0 || n == 0 {
		return false
	}
	for _, ev := range s.evs[:n] {
		s.drain(int(ev.Fd))
	}
	return true
}

// drain reads fd until it would block (a few reads at most: a timerfd
// and an eventfd give 8 bytes, a doorbell's pipe a byte a ring).
func (s *Sleeper) drain(fd int) {
	for range 16 {
		n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)))
		if errno != 0 || int(n) < len(s.buf) {
			return
		}
	}
}

// Wake ends the current or the next Sleep.
func (s *Sleeper) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	one := uint64(1)
	unix.RawSyscall(unix.SYS_WRITE, uintptr(s.wake), uintptr(unsafe.Pointer(&one)), 8)
}

// Close releases the Sleeper's descriptors (not the watched ones). No
// Sleep may be in progress.
func (s *Sleeper) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	unix.Close(s.timer)
	unix.Close(s.wake)
	return s.set.Close()
}
