package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load reads, checks and returns the configuration in the file at path. It
// is all or nothing: either a whole, valid Config, or a nil Config and an
// error. When the file could be read, the error is Errors, listing every
// problem in line order, those of Parse and also every file the
// configuration names (key_file, the tables, bin_dir, agents_dir, the
// agents' programs) that does not exist or is of the wrong kind, on the
// line of the key that names it. Load does not read the key file
// (LoadKeyring does), the tables (package tables does) or the agents
// directory's files (package agents does: a bad one there is skipped, not
// fatal); `had1 --check` runs all of them.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	data, err := readLimited(f, path)
	f.Close()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve config path: %w", err)
	}
	// parse's own error is in c as well; c gathers the file problems too.
	cfg, c, _ := parse(path, filepath.Dir(abs), data)
	if cfg != nil {
		checkFiles(cfg, c)
	}
	if err := c.result(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkFiles reports the files and directories cfg names that are missing
// or of the wrong kind. The state directory is not checked: had1 creates
// it. Serial devices are not checked either: a USB adapter or a test PTY
// may appear later, and the link reopens it by name until it does.
func checkFiles(cfg *Config, c *collector) {
	checkFile(c, "key_file", cfg.KeyFile, false)
	checkFile(c, "recover_table", cfg.RecoverTable, false)
	checkFile(c, "takeover_table", cfg.TakeoverTable, false)
	checkFile(c, "bin_dir", cfg.BinDir, true)
	checkFile(c, "agents_dir", cfg.AgentsDir, true)
	for i, a := range cfg.Agents {
		// A bare program name ("sh") is found in PATH when it runs, and
		// had1's PATH is not this process's: only paths are checked.
		if len(a.Command) > 0 && strings.ContainsRune(a.Command[0], '/') {
			checkProgram(c, fmt.Sprintf("agent[%d].command", i), a.Command[0])
		}
	}
}

// checkProgram reports a program that is missing, not a regular file or
// not executable.
func checkProgram(c *collector, key, path string) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.add(key, "%s does not exist", path)
	case err != nil:
		c.add(key, "%v", err)
	case !fi.Mode().IsRegular():
		c.add(key, "%s is not a regular file", path)
	case fi.Mode().Perm()&0o111 == 0:
		c.add(key, "%s is not executable (chmod +x)", path)
	}
}

func checkFile(c *collector, key, path string, dir bool) {
	if path == "" {
		return
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.add(key, "%s does not exist", path)
	case err != nil:
		c.add(key, "%v", err)
	case dir && !fi.IsDir():
		c.add(key, "%s is not a directory", path)
	case !dir && !fi.Mode().IsRegular():
		c.add(key, "%s is not a regular file", path)
	}
}
