package comm

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// The serial device is driven with termios directly (SPEC §3 allows it)
// rather than through go.bug.st/serial, whose Read waits in select(2): a
// goroutine parked in a blocking system call keeps the Go runtime's sysmon
// thread waking every few tens of microseconds, which cost the receiver
// about 0.3% of a core at idle here, and select's fd_set panics for a
// descriptor ≥ 1024 (libraries.md §5). A non-blocking descriptor wrapped in
// an os.File waits in the netpoller instead, and Close wakes a blocked Read.

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
	return os.NewFile(uintptr(fd), device), nil // non-blocking: the netpoller waits
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
