package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/hadcluster/had/comm/wire"
)

// maxFileSize bounds what Load and LoadKeyring read, so that a key naming
// the wrong file (a log, /dev/zero) fails at once instead of eating memory.
const maxFileSize = 1 << 20

// LoadKeyring reads the key file at path (format: see ParseKeyring). It
// refuses a file that group or others may read, write or execute (mode &
// 0077 != 0), and one owned by anybody but root or the user reading it:
// the keys are what stops anyone on the LAN from ordering a takeover, and
// a file's owner can read and rewrite it whatever its mode (OpenSSH's
// StrictModes refuses the same). Root's file read by a had user, or by a
// test, is fine. A refused mode or owner is reported together with any
// problem in the contents, as Errors, naming the file (these have no
// line); a file that cannot be opened or read is a plain wrapped error.
func LoadKeyring(path string) (*wire.Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the name, so the mode checked is the mode of
	// the bytes read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, Errors{{File: path, Msg: "not a regular file"}}
	}
	var errs Errors
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		errs = append(errs, Error{File: path, Msg: fmt.Sprintf(
			"mode %04o lets group or others at the keys: run chmod 600 %s", perm, path)})
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		errs = append(errs, Error{File: path, Msg: fmt.Sprintf(
			"owned by uid %d, who could read or rewrite the keys: want root or uid %d (chown)", st.Uid, os.Geteuid())})
	}
	data, err := readLimited(f, path)
	if err != nil {
		return nil, err
	}
	kr, perr := ParseKeyring(path, data)
	var content Errors
	if errors.As(perr, &content) {
		errs = append(errs, content...)
	} else if perr != nil {
		return nil, perr
	}
	if len(errs) > 0 {
		return nil, sorted(errs)
	}
	return kr, nil
}

// readLimited reads all of r, failing when it is larger than maxFileSize.
func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, Errors{{File: name, Msg: fmt.Sprintf("larger than %d bytes: is this the right file?", maxFileSize)}}
	}
	return data, nil
}
