package comm

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The serial device is driven with termios directly (SPEC §3 allows it)
// rather than through go.bug.st/serial, whose Read waits in select(2) with
// a timeout (a wake-up cost the receiver about 0.3% of a core at idle
// here) and whose fd_set panics for a descriptor ≥ 1024 (libraries.md §5).
//
// Nor does the descriptor go into the Go netpoller the usual way: polling a
// tty with no input waits for the tty's flip-buffer work (n_tty_poll →
// tty_buffer_flush_work), which a kernel worker thread runs at the normal
// time-shared policy. On a machine whose CPUs are saturated that worker
// waits, and with it the epoll_wait of the whole process: every timer and
// every socket of a realtime receiver stopped for up to 1.5 s under
// stress-ng (caught in D state in __flush_work under do_epoll_wait,
// measured). The netpoller asks for EPOLLOUT too, so every write to the
// line woke the item and had the empty tty polled again.
//
// So a tty waits for input in an epoll set of its own, watched by the
// netpoller: the device for EPOLLIN only, edge-triggered, and an eventfd
// that Close signals. The kernel then polls the device only when input has
// arrived (when no flush is needed) or the line hangs up, never when it is
// empty, and the one read that follows finds the input there. Waiting in
// poll(2) on a thread of its own, as before, cost two or three thread
// wake-ups a frame: every blocking system call wakes Go's monitor thread.
// A write is a raw system call (rawWrite); should the line be full, it
// waits in poll(2) on its own thread.

// bauds maps the rates had accepts to termios speed constants.
var bauds = map[int]uint32{9600: unix.B9600, 19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600, 115200: unix.B115200}

// openTTY opens device raw at baud, 8N1, without flow control. flush
// discards input that arrived while nobody read.
func openTTY(device string, baud int, flush bool) (io.ReadWriteCloser, error) {
	speed, ok := bauds[baud]
	if !ok {
		return nil, fmt.Errorf("open %s: unsupported baud rate %d", device, baud)
	}
	fd, err := unix.Open(device, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", device, err)
	}
	if err := makeRaw(fd, speed); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("configure %s: %w", device, err)
	}
	if flush {
		if err := unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("flush input of %s: %w", device, err)
		}
	}
	t, err := newTTY(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %w", device, err)
	}
	return t, nil
}

// newTTY wraps the open device fd and the eventfd Close signals.
func newTTY(fd int) (*tty, error) {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	t := &tty{fd: fd, wake: wake}
	t.readFn = t.tryRead // made once: a method value allocates
	return t, nil
}

// openSet makes the epoll set Read waits on, at the first Read: the
// sender's tty, never read, would otherwise wake its netpoller for every
// frame the peer sends. t.mu is held.
func (t *tty) openSet() error {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, t.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(t.fd)})
	if err == nil {
		err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, t.wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(t.wake)})
	}
	if err == nil {
		err = unix.SetNonblock(ep, true) // so that os.NewFile puts it in the netpoller
	}
	if err != nil {
		unix.Close(ep)
		return fmt.Errorf("epoll: %w", err)
	}
	set := os.NewFile(uintptr(ep), "tty-epoll")
	rc, err := set.SyscallConn()
	if err != nil {
		set.Close()
		return err
	}
	t.set, t.rc = set, rc
	return nil
}

// tty is an open serial device. Read and Write may run at the same time
// (the receiver's pump, the sender's writer); Close wakes both and closes
// the descriptors once neither uses them, so their numbers cannot be
// reused under a call in progress.
type tty struct {
	fd, wake int      // the device (non-blocking), and the eventfd Close signals
	set      *os.File // Read's epoll set (openSet), nil before the first Read
	rc       syscall.RawConn
	evs      [2]unix.EpollEvent

	// Read's state. more says the device may hold input no event will
	// announce: after a read that filled its buffer. (Input there before
	// the first Read is announced: adding the device to the set polls it.)
	more    bool
	rn      int
	rerr    error
	rp      []byte
	closing bool
	readFn  func(ep uintptr) bool

	mu     sync.Mutex
	users  int
	closed bool
}

var _ io.ReadWriteCloser = (*tty)(nil)

// enter starts a call: net.ErrClosed once closed. A Read (read set)
// makes the epoll set it waits on, at the first.
func (t *tty) enter(read bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return net.ErrClosed
	}
	if read && t.set == nil {
		if err := t.openSet(); err != nil {
			return fmt.Errorf("read tty: %w", err)
		}
	}
	t.users++
	return nil
}

// leave ends a call, closing the descriptors if Close came meanwhile.
func (t *tty) leave() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users--
	if t.closed && t.users == 0 {
		t.release()
	}
}

// release closes the descriptors; t.mu is held.
func (t *tty) release() {
	if t.set != nil {
		t.set.Close()
	}
	unix.Close(t.fd)
	unix.Close(t.wake)
}

// Read returns what the device has, waiting for it; io.EOF once the other
// end hung up (socat gone), net.ErrClosed after Close.
func (t *tty) Read(p []byte) (int, error) {
	if err := t.enter(true); err != nil {
		return 0, err
	}
	defer t.leave()
	t.rp, t.rn, t.rerr, t.closing = p, 0, nil, false
	err := t.rc.Read(t.readFn)
	t.rp = nil
	switch {
	case err != nil:
		return 0, fmt.Errorf("read tty: %w", err)
	case t.closing:
		return 0, net.ErrClosed
	case t.rerr != nil:
		return 0, fmt.Errorf("read tty: %w", t.rerr)
	case t.rn == 0:
		return 0, io.EOF
	}
	return t.rn, nil
}

// tryRead reads the device if an event (or t.more) says it has input,
// without waiting: false sends Read back to the netpoller. The system
// calls are raw: none of them blocks, and a plain one would wake Go's
// monitor thread.
func (t *tty) tryRead(ep uintptr) bool {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, ep, uintptr(unsafe.Pointer(&t.evs[0])), uintptr(len(t.evs)), 0, 0, 0)
	input := false // the kernel said: input, and nothing else
	if errno == 0 {
		for _, ev := range t.evs[:n] {
			switch int(ev.Fd) {
			case t.wake:
				t.closing = true
				return true
			case t.fd:
				t.more = true
				input = ev.Events&^(unix.EPOLLIN|unix.EPOLLRDNORM) == 0
			}
		}
	}
	if !t.more {
		return false
	}
	// A read of an empty tty waits for the flip-buffer work, as a poll
	// does; raw, that wait would hold the daemon's only P. So the read is
	// raw only when the kernel has just reported input and nothing else
	// (a hang-up, the outage case, reads through Go's scheduler).
	read := unix.Syscall
	if input {
		read = unix.RawSyscall
	}
	for {
		n, _, errno := read(unix.SYS_READ, uintptr(t.fd), uintptr(unsafe.Pointer(unsafe.SliceData(t.rp))), uintptr(len(t.rp)))
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			t.more = false
			return false
		case 0:
			// Whatever arrives after this read raises a new event; only
			// a full buffer may have left input behind.
			t.rn, t.more = int(n), int(n) == len(t.rp)
		default:
			t.rerr = errno
		}
		return true
	}
}

// Write writes all of p, waiting for room; an error when the other end
// hung up (EIO), net.ErrClosed after Close.
func (t *tty) Write(p []byte) (int, error) {
	if err := t.enter(false); err != nil {
		return 0, err
	}
	defer t.leave()
	done := 0
	for done < len(p) {
		n, err := rawWrite(t.fd, p[done:])
		switch {
		case errors.Is(err, unix.EAGAIN):
			if err := t.wait(unix.POLLOUT); err != nil {
				return done, err
			}
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return done, fmt.Errorf("write tty: %w", err)
		default:
			done += n
		}
	}
	return done, nil
}

// rawWrite is write(2) without telling Go's scheduler: a plain system
// call wakes the runtime's monitor thread whenever the process was idle,
// which for the sender is before every frame (package sleeper). A write to
// a non-blocking tty does not sleep: it takes the write lock only if free
// (else EAGAIN) and never waits for the flip-buffer work, unlike a read or
// a poll of an empty tty, which stay plain system calls.
func rawWrite(fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// wait blocks in poll(2) until the device is ready for events (or hung up:
// the next read or write tells) or Close rings the eventfd.
func (t *tty) wait(events int16) error {
	fds := []unix.PollFd{{Fd: int32(t.fd), Events: events}, {Fd: int32(t.wake), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("poll tty: %w", err)
		case fds[1].Revents != 0:
			return net.ErrClosed
		case fds[0].Revents&unix.POLLNVAL != 0:
			return fmt.Errorf("poll tty: %w", unix.EBADF)
		case fds[0].Revents != 0:
			return nil
		}
	}
}

// Close wakes any Read or Write and closes the device once they return.
func (t *tty) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	var one [8]byte
	one[0] = 1 // any count but zero wakes the poll
	_, _ = unix.Write(t.wake, one[:])
	if t.users == 0 {
		t.release()
	}
	return nil
}

// makeRaw sets 8N1 at speed with every line discipline feature off, as
// cfmakeraw(3) does: no echo, no signals, no CR/NL mapping, no software or
// hardware flow control; a read returns as soon as one byte is there.
func makeRaw(fd int, speed uint32) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL | speed
	t.Ispeed, t.Ospeed = speed, speed
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
