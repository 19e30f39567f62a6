package agents

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/fileerr"
)

func TestHang(t *testing.T) {
	tests := []struct{ interval, timeout, want time.Duration }{
		{time.Second, time.Second, 3 * time.Second},
		{time.Second, 0, 3 * time.Second},
		{100 * time.Millisecond, 100 * time.Millisecond, 1200 * time.Millisecond},
		{5 * time.Second, time.Second, 15 * time.Second},
		{10 * time.Second, 10 * time.Second, 30 * time.Second},
		{2 * time.Second, 2 * time.Second, 6 * time.Second},
	}
	for _, tc := range tests {
		if got := Hang(tc.interval, tc.timeout); got != tc.want {
			t.Errorf("Hang(%s, %s): got %s, want %s", tc.interval, tc.timeout, got, tc.want)
		}
	}
}

// tree makes files under dir: name → mode (0 for a directory).
func tree(t *testing.T, dir string, files map[string]os.FileMode) {
	t.Helper()
	for name, mode := range files {
		p := filepath.Join(dir, name)
		if mode == 0 {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	ad := filepath.Join(dir, "agents.d")
	other := filepath.Join(dir, "elsewhere")
	for _, d := range []string{ad, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tree(t, ad, map[string]os.FileMode{
		"check_b":        0o755,
		"a.daemon":       0o700,
		"README":         0o644,
		".swp-file":      0o755,
		"sub":            0,
		"bad name":       0o755,
		"check_b~":       0o755,
		"x.dpkg-old":     0o755,
		"dup":            0o755,
		"dup.daemon":     0o755,
		"conf_by_path":   0o755,
		"conf_by_name":   0o755,
		"web.daemon":     0o755, // its name "web" is a configured agent's
		"zz_last":        0o755,
		"conf_dir_agent": 0o755,
	})
	tree(t, other, map[string]os.FileMode{"prog": 0o755})
	if err := os.Symlink(filepath.Join(other, "prog"), filepath.Join(ad, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(other, "missing"), filepath.Join(ad, "dangling")); err != nil {
		t.Fatal(err)
	}

	web := config.DefaultAgent(config.KindHTTP, "web")
	web.URL, web.Critical = "http://127.0.0.1/", true
	byPath := config.DefaultAgent(config.KindExec, "nagios-one")
	byPath.Command = []string{filepath.Join(ad, "conf_by_path"), "-w", "1"}
	byPath.Critical = true
	byName := config.DefaultAgent(config.KindExec, "conf_by_name")
	byName.Command = []string{"/usr/lib/nagios/plugins/check_dummy", "0"}
	mine := config.DefaultAgent(config.KindDaemon, "mine")
	mine.Command = []string{"/usr/local/bin/mine", "--x"}
	mine.Interval = 2 * time.Second
	cfg := &config.Config{ShmPath: "/dev/shm/had-test", AgentsDir: ad, Agents: []config.Agent{web, byPath, byName, mine}}

	specs, errs := List(cfg, "/etc/had/had.toml", "/usr/lib/had")
	agent := func(name string) []string {
		return []string{"/usr/lib/had/had-agent", "--config=/etc/had/had.toml", "--agent=" + name}
	}
	type row struct {
		Index          int
		Name           string
		Kind           config.AgentKind
		Critical, Serv bool
		Hang           time.Duration
		Argv           []string
		File           string
	}
	want := []row{
		{0, "web", config.KindHTTP, true, true, 3 * time.Second, agent("web"), ""},
		{1, "nagios-one", config.KindExec, true, true, 30 * time.Second, agent("nagios-one"), filepath.Join(ad, "conf_by_path")},
		{2, "conf_by_name", config.KindExec, false, true, 30 * time.Second, agent("conf_by_name"), ""},
		{3, "mine", config.KindDaemon, false, true, 6 * time.Second, []string{"/usr/local/bin/mine", "--x"}, ""},
		{4, "a", config.KindDaemon, false, true, 3 * time.Second, []string{filepath.Join(ad, "a.daemon")}, filepath.Join(ad, "a.daemon")},
		{5, "check_b", config.KindExec, false, true, 30 * time.Second, agent("check_b"), filepath.Join(ad, "check_b")},
		{6, "conf_dir_agent", config.KindExec, false, true, 30 * time.Second, agent("conf_dir_agent"), filepath.Join(ad, "conf_dir_agent")},
		{7, "dup", config.KindExec, false, true, 30 * time.Second, agent("dup"), filepath.Join(ad, "dup")},
		{8, "linked", config.KindExec, false, true, 30 * time.Second, agent("linked"), filepath.Join(ad, "linked")},
		{9, "zz_last", config.KindExec, false, true, 30 * time.Second, agent("zz_last"), filepath.Join(ad, "zz_last")},
	}
	var got []row
	for _, s := range specs {
		got = append(got, row{s.Index, s.Name, s.Kind, s.Critical, s.Service, s.Hang, s.Argv, s.File})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", rows(got), rows(want))
	}
	if s := specs[3]; !reflect.DeepEqual(s.Env, []string{"HAD_SHM=/dev/shm/had-test", "HAD_AGENT_SLOT=43", "HAD_AGENT_NAME=mine", "HAD_AGENT_INTERVAL=2s", "HAD_AGENT_INTERVAL_MS=2000", "HAD_AGENT_HANG_MS=6000"}) || s.Timeout != 0 {
		t.Errorf("daemon env: got %q timeout %s", s.Env, s.Timeout)
	}
	if specs[0].Env != nil || specs[0].ResultSlot() != 37 || specs[0].IDSlot() != 36 {
		t.Errorf("built-in: got env %q slots %d/%d, want none and 36/37", specs[0].Env, specs[0].IDSlot(), specs[0].ResultSlot())
	}
	if specs[8].Agent.Command[0] != filepath.Join(ad, "linked") {
		t.Errorf("a symbolic link runs as itself: got %q", specs[8].Agent.Command)
	}

	wantErrs := map[string]string{
		"README":     "not executable",
		"bad name":   "only letters",
		"check_b~":   "backup",
		"x.dpkg-old": "backup",
		"dup.daemon": "already taken by " + filepath.Join(ad, "dup"),
		"dangling":   "no such file",
	}
	if len(errs) != len(wantErrs) {
		t.Errorf("got %d errors, want %d:\n%v", len(errs), len(wantErrs), errors.Join(errs...))
	}
	for _, err := range errs {
		var fe fileerr.Error
		if !errors.As(err, &fe) {
			t.Errorf("got %T, want fileerr.Error", err)
			continue
		}
		part, ok := wantErrs[filepath.Base(fe.File)]
		if !ok || !strings.Contains(fe.Msg, part) || !strings.HasPrefix(fe.Msg, "skipped: ") {
			t.Errorf("got %v, want %q for this file", err, part)
		}
	}
}

func rows[T any](rs []T) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%+v\n", r)
	}
	return b.String()
}

func TestListAtMost32(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]os.FileMode{"d1": 0o755, "d2": 0o755, "d3": 0o755})
	cfg := &config.Config{AgentsDir: dir}
	for i := range config.MaxAgents - 1 {
		cfg.Agents = append(cfg.Agents, config.DefaultAgent(config.KindStats, fmt.Sprintf("s%d", i)))
	}
	specs, errs := List(cfg, "/c", "/b")
	if len(specs) != config.MaxAgents || specs[config.MaxAgents-1].Name != "d1" {
		t.Errorf("got %d agents, the last %q; want %d, the last d1", len(specs), specs[len(specs)-1].Name, config.MaxAgents)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "d2: skipped: the node has 32 agents already") {
		t.Errorf("got %v, want d2 and d3 skipped", errs)
	}
}

func TestListBadDirectory(t *testing.T) {
	cfg := &config.Config{AgentsDir: filepath.Join(t.TempDir(), "none"), Agents: []config.Agent{config.DefaultAgent(config.KindStats, "s")}}
	specs, errs := List(cfg, "/c", "/b")
	if len(specs) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "agents directory skipped") {
		t.Errorf("got %d agents and %v, want the configured one and one error", len(specs), errs)
	}
}
