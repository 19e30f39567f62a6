package had1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvPIDFile carries had1's pid file to the next had1: had1 puts it in its
// own environment, had2 inherits it, and a had1 that had2 starts (with
// only --config) finds it there and rewrites the file with its own PID.
const EnvPIDFile = "HAD_PIDFILE"

// WritePIDFile writes pid to path, replacing the file in one rename so a
// reader never sees it half written.
func WritePIDFile(path string, pid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// RemovePIDFile removes path if it still names pid: a graceful stop
// removes it, and never the file of a had1 that has since replaced us.
func RemovePIDFile(path string, pid int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove pid file: %w", err)
	}
	if strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pid file: %w", err)
	}
	return nil
}
