package shm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// A mapped table must never shrink: an access beyond the end of a file is a
// SIGBUS that recover() cannot catch (libraries.md §2). So nothing here ever
// truncates an existing file: Create makes a new inode and renames it over
// the old path, leaving processes that still map the old file intact, and
// Open checks the file's size before mapping it. debug.SetPanicOnFault is not
// used: it would only turn a broken rule into a panic nobody can handle better.

// Create makes a new table file at path (mode 0600) and maps it. It builds
// the file under a temporary name and renames it into place, so that Open
// never sees a missing or half-initialised table and a file already at path
// is replaced, never truncated. (A crash between the two leaves a stray
// ".name.NNN" file of FileSize bytes in the directory.) Files are opened
// O_CLOEXEC, so children do not inherit the table's role locks.
func Create(path string, epoch uint64) (*Table, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*") // O_EXCL, 0600
	if err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	t, err := create(f, epoch)
	if err == nil {
		err = t.openBells(path)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		if t != nil {
			t.Close()
		} else {
			f.Close()
		}
		os.Remove(f.Name())
		return nil, fmt.Errorf("create table %s: %w", path, err)
	}
	t.path = path
	return t, nil
}

func create(f *os.File, epoch uint64) (*Table, error) {
	if err := f.Truncate(FileSize); err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, FileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	t, err := New(mem, epoch)
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	t.file = f
	return t, nil
}

// Open maps the existing table at path and checks its header. A file of the
// wrong size is refused before it is mapped.
func Open(path string) (*Table, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open table: %w", err)
	}
	t, err := open(f)
	if err == nil {
		if err = t.openBells(path); err != nil {
			t.Close()
			return nil, fmt.Errorf("open table %s: %w", path, err)
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open table %s: %w", path, err)
	}
	t.path = path
	return t, nil
}

func open(f *os.File) (*Table, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() != FileSize {
		return nil, fmt.Errorf("file size %d, want %d: %w", st.Size(), FileSize, ErrLayout)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, FileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	t, err := Attach(mem)
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	t.file = f
	return t, nil
}

// Path is the file the table was created or opened at ("" for New/Attach).
func (t *Table) Path() string { return t.path }

// Close unmaps the table and closes its file, which releases its role
// locks. The table must not be used afterwards. It does nothing for a table
// made by New or Attach.
func (t *Table) Close() error {
	if t.file == nil {
		return nil
	}
	t.closeBells()
	err := unix.Munmap(t.mem)
	t.mem = nil
	if cerr := t.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close table %s: %w", t.path, err)
	}
	return nil
}

// Lock takes the role's lock without waiting, so that only one process per
// role runs on the node; it fails with ErrLocked while another open file
// description holds it. The lock is an OFD lock (F_OFD_SETLK) on header byte
// 128+role of this table's own open file: it is held per Table (two Opens of
// one file are two holders, two Locks of one role on one Table are one), and
// the kernel drops it when the process dies. It locks the inode, so a
// process that maps a file since replaced by Create does not contend.
// role is 0…127.
func (t *Table) Lock(role int) (release func(), err error) {
	return t.lock(role, unix.F_OFD_SETLK)
}

// LockWait is Lock that blocks until the lock is free (F_OFD_SETLKW), e.g.
// to serialise several writers of one slot. It ties up an OS thread while it
// waits.
func (t *Table) LockWait(role int) (release func(), err error) {
	return t.lock(role, unix.F_OFD_SETLKW)
}

func (t *Table) lock(role, cmd int) (func(), error) {
	if role < 0 || role > maxRole {
		return nil, fmt.Errorf("lock role %d: out of range [0,%d]", role, maxRole)
	}
	if t.file == nil {
		return nil, fmt.Errorf("lock role %d: %w", role, ErrNoFile)
	}
	fd := int(t.file.Fd())
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: int64(offRoleLock + role), Len: 1}
	for {
		err := unix.FcntlFlock(uintptr(fd), cmd, &lk)
		if err == nil {
			break
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("lock role %d: %w", role, ErrLocked)
		}
		return nil, fmt.Errorf("lock role %d: %w", role, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			un := lk
			un.Type = unix.F_UNLCK
			unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &un)
		})
	}, nil
}
