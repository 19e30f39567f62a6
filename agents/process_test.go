package agents

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
)

// fakeProc is a /proc with the given processes and files.
type fakeProc struct {
	procs map[int]procStat
	files map[string]string
	stats int // Stat calls
}

func (f *fakeProc) PIDs() ([]int, error) {
	var out []int
	for pid := 1; pid < 1000; pid++ {
		if _, ok := f.procs[pid]; ok {
			out = append(out, pid)
		}
	}
	return out, nil
}

func (f *fakeProc) Stat(pid int) (procStat, error) {
	f.stats++
	st, ok := f.procs[pid]
	if !ok {
		return procStat{}, fs.ErrNotExist
	}
	return st, nil
}

func (f *fakeProc) ReadFile(p string) ([]byte, error) {
	s, ok := f.files[p]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(s), nil
}

func TestProcessCheck(t *testing.T) {
	procs := map[int]procStat{
		1:  {"init", 'S'},
		20: {"nginx", 'Z'},
		30: {"nginx", 'S'},
		40: {"sleep", 'R'},
	}
	files := map[string]string{
		"/run/nginx.pid": "30\n",
		"/run/zombie":    " 20 \n",
		"/run/gone":      "77",
		"/run/sleep":     "40",
		"/run/junk":      "nginx",
		"/run/empty":     "",
	}
	tests := []struct {
		name, process, pidFile string
		want                   shm.Value
		text                   string
	}{
		{"by name", "nginx", "", shm.OK, "nginx runs (pid 30)"},
		{"by name, none", "postgres", "", shm.Error, `no process named "postgres"`},
		{"by name, only a zombie", "init2", "", shm.Error, "no process"},
		{"pid file", "", "/run/nginx.pid", shm.OK, "nginx runs (pid 30)"},
		{"pid file with name", "nginx", "/run/nginx.pid", shm.OK, "nginx runs (pid 30)"},
		{"pid file of another process", "nginx", "/run/sleep", shm.Error, `pid 40 from /run/sleep is "sleep", not "nginx"`},
		{"pid file of a zombie", "", "/run/zombie", shm.Error, "pid 20 from /run/zombie has exited (zombie)"},
		{"pid file of a dead process", "", "/run/gone", shm.Error, "pid 77 from /run/gone does not run"},
		{"pid file missing", "", "/run/none", shm.Error, "pid file /run/none does not exist"},
		{"pid file junk", "", "/run/junk", shm.Error, `"nginx" is not a PID`},
		{"pid file empty", "", "/run/empty", shm.Error, `"" is not a PID`},
	}
	for _, tc := range tests {
		c := &processCheck{name: tc.process, pidFile: tc.pidFile, src: &fakeProc{procs: procs, files: files}}
		got := c.Check(context.Background())
		if got.Value != tc.want || !strings.Contains(got.Text, tc.text) {
			t.Errorf("%s: got %v %q, want %v %q", tc.name, got.Value, got.Text, tc.want, tc.text)
		}
	}
}

func TestProcessCheckRemembersThePID(t *testing.T) {
	src := &fakeProc{procs: map[int]procStat{5: {"a", 'S'}, 6: {"b", 'S'}, 7: {"nginx", 'S'}}}
	c := &processCheck{name: "nginx", src: src}
	c.Check(context.Background())
	src.stats = 0
	if got := c.Check(context.Background()); got.Value != shm.OK || src.stats != 1 {
		t.Errorf("got %v after %d stat reads, want OK after 1 (the remembered PID)", got.Value, src.stats)
	}
	delete(src.procs, 7)
	src.procs[9] = procStat{"nginx", 'S'}
	if got := c.Check(context.Background()); got.Value != shm.OK || !strings.Contains(got.Text, "pid 9") {
		t.Errorf("got %v %q, want the new pid 9 found", got.Value, got.Text)
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		in   string
		want procStat
		ok   bool
	}{
		{"42 (nginx) S 1 2 3", procStat{"nginx", 'S'}, true},
		{"42 (a b) c)) Z 1", procStat{"a b) c)", 'Z'}, true},
		{"42 () R 1", procStat{"", 'R'}, true},
		{"42 nginx S", procStat{}, false},
		{"42 (nginx)", procStat{}, false},
		{"42 (nginx) ", procStat{}, false},
	}
	for _, tc := range tests {
		got, err := parseProcStat([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("42 (nginx) S 1 2 3"))
	f.Add([]byte("1 ((sd-pam)) S 0"))
	f.Add([]byte("("))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseProcStat(b)
		if err != nil {
			return
		}
		if !strings.Contains(string(b), "("+st.Comm+") "+string([]byte{st.State})) {
			t.Fatalf("%q: got %+v, which is not in the line", b, st)
		}
	})
}

func FuzzParsePIDFile(f *testing.F) {
	f.Add([]byte("123\n"))
	f.Add([]byte(" 7 \nrest"))
	f.Add([]byte("-1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pid, err := parsePIDFile(b)
		if err != nil {
			return
		}
		if pid <= 0 || pid > 1<<22 {
			t.Fatalf("%q: got pid %d", b, pid)
		}
		if again, err := parsePIDFile([]byte(strconv.Itoa(pid))); err != nil || again != pid {
			t.Fatalf("%q: %d does not re-parse: %d, %v", b, pid, again, err)
		}
	})
}

// TestProcessCheckReal watches a sleep this test starts, by name and by
// pid file, through the real /proc.
func TestProcessCheckReal(t *testing.T) {
	dir := t.TempDir()
	// A copy of sleep under a name no other process has.
	name := "hadslp" + strconv.Itoa(os.Getpid()%100000)
	bin := filepath.Join(dir, name)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "pid")
	byName := New1(t, config.Agent{Kind: config.KindProcess, Process: name})
	byFile := New1(t, config.Agent{Kind: config.KindProcess, Process: name, PIDFile: pidFile})
	if got := byName.Check(context.Background()); got.Value != shm.Error {
		t.Fatalf("before start: got %v %q, want ERROR", got.Value, got.Text)
	}

	cmd := exec.Command(bin, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Checker{byName, byFile} {
		if got := c.Check(context.Background()); got.Value != shm.OK || !strings.Contains(got.Text, strconv.Itoa(cmd.Process.Pid)) {
			t.Errorf("running: got %v %q, want OK with pid %d", got.Value, got.Text, cmd.Process.Pid)
		}
	}

	// Killed but not reaped: a zombie, which is not alive.
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := procFS{}.Stat(cmd.Process.Pid)
		if err != nil || st.State == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed sleep never became a zombie")
		}
		time.Sleep(time.Millisecond)
	}
	for _, c := range []Checker{byName, byFile} {
		if got := c.Check(context.Background()); got.Value != shm.Error {
			t.Errorf("zombie: got %v %q, want ERROR", got.Value, got.Text)
		}
	}
	cmd.Wait()
	for _, c := range []Checker{byName, byFile} {
		if got := c.Check(context.Background()); got.Value != shm.Error {
			t.Errorf("reaped: got %v %q, want ERROR", got.Value, got.Text)
		}
	}
}

// New1 is New for a test agent with the kind's defaults under a.
func New1(t *testing.T, a config.Agent) Checker {
	t.Helper()
	d := config.DefaultAgent(a.Kind, "test")
	if a.Name == "" {
		a.Name = d.Name
	}
	if a.Interval == 0 {
		a.Interval, a.Timeout = d.Interval, d.Timeout
	}
	c, err := New(a, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
