package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
)

// A bad table, a bad key file, a key file others can read and one owned by
// another user: for each, `had1 --check` and `had1` in node A's namespace
// exit non-zero naming the file (and the line, where the problem has one),
// and nothing is created: no record table, no process left in the
// namespace, no virtual IP. The same files made good again pass the check,
// and had1 then does create its table: the checks look in the right place.
func TestBadFilesStartNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("end-to-end tests need root")
	}
	if testing.Short() {
		t.Skip("end-to-end tests run on their own")
	}
	bin, err := cluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	bed := testbed.New(t, testbed.Options{})
	c, err := cluster.New(bed, bin, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, table := c.KeyFile(), filepath.Join(filepath.Dir(c.KeyFile()), "A-recover.table")
	goodKeys, goodTable := mustRead(t, keys), mustRead(t, table)
	restore := func() {
		must(t, os.WriteFile(keys, []byte(goodKeys), 0o600))
		must(t, os.Chmod(keys, 0o600))
		must(t, os.Chown(keys, 0, 0))
		must(t, os.WriteFile(table, []byte(goodTable), 0o644))
	}
	had1 := func(args ...string) (string, int) {
		// Bounded: a had1 that wrongly starts is killed (the bed then
		// kills whatever it started), and the checks below fail.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		argv := append([]string{"netns", "exec", bed.NS("A"), filepath.Join(bin, "had1")}, append(args, "--config", c.ConfigPath("A"))...)
		cmd := exec.CommandContext(ctx, "ip", argv...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}

	for _, tc := range []struct {
		name  string
		spoil func()
		want  string // in the output of both runs
	}{
		{"table with an unknown entry", func() {
			must(t, os.WriteFile(table, []byte(goodTable+"frobnicate everything\n"), 0o644))
		}, table + ":4: "},
		{"table with a VIP without its device", func() {
			must(t, os.WriteFile(table, []byte(strings.Replace(goodTable, " dev=eth0", "", 1)), 0o644))
		}, table + ":2: "},
		{"key file with a short secret", func() {
			must(t, os.WriteFile(keys, []byte("active 1\nkey 1 tooshort\n"), 0o600))
		}, keys + ":2: key 1: "},
		{"key file with a line of garbage", func() {
			must(t, os.WriteFile(keys, []byte(goodKeys+"hunter2\n"), 0o600))
		}, keys + ":3: "},
		{"key file readable by all", func() { must(t, os.Chmod(keys, 0o644)) }, keys + ": mode 0644"},
		{"key file owned by nobody", func() { must(t, os.Chown(keys, 65534, 65534)) }, keys + ": owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore()
			tc.spoil()
			defer restore()
			for _, args := range [][]string{{"--check"}, {}} {
				out, code := had1(args...)
				if code == 0 || code == -1 {
					t.Errorf("had1 %v: exit %d, want a non-zero exit; output:\n%s", args, code, out)
				}
				if !strings.Contains(out, tc.want) {
					t.Errorf("had1 %v: output lacks %q:\n%s", args, tc.want, out)
				}
				if _, err := os.Stat(c.ShmPath("A")); err == nil {
					t.Fatalf("had1 %v created its table %s", args, c.ShmPath("A"))
				}
				if pids, err := bed.PIDs("A"); err != nil || len(pids) > 0 {
					t.Fatalf("had1 %v left processes %v in A's namespace (err %v)", args, pids, err)
				}
				if addrs, err := bed.Exec("A", "ip", "-o", "addr", "show"); err != nil || strings.Contains(addrs, c.VIP(1).String()+"/") {
					t.Fatalf("had1 %v: A's addresses (err %v):\n%s", args, err, addrs)
				}
			}
		})
	}

	// The control: good files pass, and had1 then makes its table.
	restore()
	if out, code := had1("--check"); code != 0 {
		t.Fatalf("had1 --check with the good files: exit %d:\n%s", code, out)
	}
	if err := c.Start("A"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(c.ShmPath("A")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("had1 with the good files made no table at %s in 10s", c.ShmPath("A"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
