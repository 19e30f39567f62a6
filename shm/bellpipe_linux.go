package shm

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/sleeper"
)

// A bell's futex wakes threads blocked in Wait, but a daemon's main loop
// sleeps in Go's netpoller (package sleeper), which cannot wait on a futex.
// So each bell of a table file also has a named pipe beside it,
// "<table>.<bell>.bell": Ring writes a byte to it, and a sleeper watches it
// (BellSleeper). A byte wakes one reader: one process of a node sleeps on each bell
// (had2, the sender, the console's server), and others use Wait.

var bellNames = [...]string{BellHad2: "had2", BellSender: "sender", BellAdmin: "admin"}

// BellPath is the named pipe of bell b of the table at path.
func BellPath(path string, b Bell) string { return path + "." + bellNames[b] + ".bell" }

// openBells makes the table's bell pipes if missing and opens them,
// read-write so that neither open nor write needs a reader, and
// non-blocking so that a full pipe (nobody drained it) costs a ring nothing.
func (t *Table) openBells(path string) error {
	t.bells = make([]int, 0, len(bellNames))
	for b := range bellNames {
		p := BellPath(path, Bell(b))
		if err := unix.Mkfifo(p, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
			t.closeBells()
			return fmt.Errorf("make bell pipe %s: %w", p, err)
		}
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == nil {
			var st unix.Stat_t
			if err = unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFIFO {
				err = errors.New("not a named pipe")
			}
			if err != nil {
				unix.Close(fd)
			}
		}
		if err != nil {
			t.closeBells()
			return fmt.Errorf("open bell pipe %s: %w", p, err)
		}
		t.bells = append(t.bells, fd)
	}
	return nil
}

func (t *Table) closeBells() {
	for _, fd := range t.bells {
		unix.Close(fd)
	}
	t.bells = nil
}

// ringPipe writes a byte to bell b's pipe, if the table has one. Raw: the
// write never blocks, and a plain system call would wake Go's monitor
// thread in the ringing process.
func (t *Table) ringPipe(b Bell) {
	if t.bells != nil {
		one := byte(1)
		unix.RawSyscall(unix.SYS_WRITE, uintptr(t.bells[b]), uintptr(unsafe.Pointer(&one)), 1)
	}
}

// BellSleeper is a sleeper woken by bell b (and its own Wake), for the
// main loop of the one process of a node that sleeps on b. Close it before
// the table.
func (t *Table) BellSleeper(b Bell) (*sleeper.Sleeper, error) {
	fd, err := t.bellFD(b)
	if err != nil {
		return nil, err
	}
	s, err := sleeper.New()
	if err != nil {
		return nil, err
	}
	if err := s.Watch(fd); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// bellFD is the non-blocking descriptor of bell b's pipe, readable after a
// Ring. It is the table's: valid until Close.
func (t *Table) bellFD(b Bell) (int, error) {
	t.bell(b) // range check
	if t.bells == nil {
		return -1, fmt.Errorf("bell %s: the table has no file, so no bell pipes", bellNames[b])
	}
	return t.bells[b], nil
}

// Remove removes the table file at path and its bell pipes; processes that
// have them open keep them. A missing file is not an error.
func Remove(path string) error {
	paths := []string{path}
	for b := range bellNames {
		paths = append(paths, BellPath(path, Bell(b)))
	}
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
