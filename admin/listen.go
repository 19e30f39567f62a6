package admin

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// ErrNotSocket: something other than a socket sits at the socket's path;
// the server does not remove what it did not make.
var ErrNotSocket = errors.New("admin: not a socket")

// Socket modes: the admin group may use the console besides root; without
// such a group, root only.
const (
	modeGroup = 0o660
	modeRoot  = 0o600
)

// unixListener removes its socket file when closed.
type unixListener struct {
	*net.UnixListener
	path string
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	os.Remove(l.path)
	return err
}

// listenUnix listens on the unix socket path with the console's access
// rule: mode 0660 and group group when that group exists, else 0600. The
// socket is bound under a private temporary name, given its owner and mode,
// and only then renamed into place, so no one ever connects to it with the
// wrong mode; the rename also replaces a stale socket of a dead server
// (the role lock says no other server runs). It reports the mode and group
// it chose.
func listenUnix(path, group string) (l net.Listener, mode os.FileMode, gid int, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, 0, fmt.Errorf("listen on %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket == 0 {
		return nil, 0, 0, fmt.Errorf("listen on %s: %w: %v", path, ErrNotSocket, fi.Mode())
	}
	mode, gid = modeRoot, -1
	if group != "" {
		if g, err := user.LookupGroup(group); err == nil {
			if id, err := strconv.Atoi(g.Gid); err == nil {
				mode, gid = modeGroup, id
			}
		}
	}
	tmpDir, err := os.MkdirTemp(dir, ".a") // 0700: nobody else reaches the socket inside
	if err != nil {
		return nil, 0, 0, fmt.Errorf("listen on %s: %w", path, err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("listen on %s: %w", path, err)
	}
	ul.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, os.FileMode, int, error) {
		ul.Close()
		return nil, 0, 0, fmt.Errorf("listen on %s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return fail(err)
		}
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return &unixListener{UnixListener: ul, path: path}, mode, gid, nil
}
