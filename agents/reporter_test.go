package agents

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func newTable(t *testing.T) *shm.Table {
	t.Helper()
	tb, err := shm.Create(filepath.Join(t.TempDir(), "table"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close() })
	return tb
}

func readResult(t *testing.T, tb *shm.Table, slot int) (slots.AgentResult, shm.Record) {
	t.Helper()
	rec, err := tb.Read(slot)
	if err != nil {
		t.Fatalf("read slot %d: %v", slot, err)
	}
	return slots.ParseAgentResult(rec), rec
}

func TestReporter(t *testing.T) {
	tb := newTable(t)
	_, slot := slots.AgentSlots(3)
	c := ReporterConfig{ShmPath: tb.Path(), Slot: slot, Name: "mine", Interval: time.Second}
	r, err := OpenReporterWith(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReporterWith(c); !errors.Is(err, shm.ErrLocked) {
		t.Errorf("second reporter: got %v, want ErrLocked", err)
	}
	steps := []struct {
		v     shm.Value
		text  string
		rings uint32
	}{
		{shm.OK, "fine", 1}, // the first report rings
		{shm.OK, "fine", 0},
		{shm.Warning, "slow", 1},
		{shm.Error, "down", 1},
	}
	for i, s := range steps {
		bell := tb.BellValue(shm.BellHad2)
		if err := r.Report(s.v, s.text, 7, 8); err != nil {
			t.Fatal(err)
		}
		got, rec := readResult(t, tb, slot)
		if got.Value != s.v || got.Text != s.text || got.Counter != uint64(i+1) || got.Interval != int64(3*time.Second) ||
			got.Metrics[0] != 7 || got.Metrics[1] != 8 || rec.PID != int32(os.Getpid()) || !slots.ValidAgentResult(rec) {
			t.Errorf("report %d: got %+v (pid %d)", i, got, rec.PID)
		}
		if rang := tb.BellValue(shm.BellHad2) - bell; rang != s.rings {
			t.Errorf("report %d: bell rang %d times, want %d", i, rang, s.rings)
		}
	}
	if err := r.Report(shm.Overtime, "x"); !errors.Is(err, ErrBadValue) {
		t.Errorf("OVERTIME: got %v, want ErrBadValue", err)
	}
	if err := r.Report(shm.OK, "x", make([]uint64, 13)...); err == nil {
		t.Errorf("13 metric words: got no error")
	}
	r.Close()

	// A new reporter (a restarted agent) goes on counting, and does not
	// ring for the same value.
	r, err = OpenReporterWith(c)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bell := tb.BellValue(shm.BellHad2)
	r.Report(shm.Error, "still down")
	if got, _ := readResult(t, tb, slot); got.Counter != 5 || tb.BellValue(shm.BellHad2) != bell {
		t.Errorf("after reopen: counter %d, bell +%d; want 5 and no ring", got.Counter, tb.BellValue(shm.BellHad2)-bell)
	}
}

func TestReporterEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "HAD_SHM is not set"},
		{map[string]string{"HAD_SHM": "/x", "HAD_AGENT_SLOT": "36"}, "not an agent result slot"},
		{map[string]string{"HAD_SHM": "/x", "HAD_AGENT_SLOT": "nope"}, "not an agent result slot"},
		{map[string]string{"HAD_SHM": "/x", "HAD_AGENT_SLOT": "37", "HAD_AGENT_INTERVAL": "1000"}, "not a duration"},
		{map[string]string{"HAD_SHM": "/x", "HAD_AGENT_SLOT": "99", "HAD_AGENT_INTERVAL": "1s"}, ""},
	}
	for _, tc := range tests {
		for _, k := range []string{EnvShm, EnvSlot, EnvName, EnvInterval} {
			t.Setenv(k, tc.env[k])
		}
		c, err := ReporterConfigFromEnv()
		if tc.want == "" {
			if err != nil || c.Slot != 99 || c.Interval != time.Second {
				t.Errorf("%v: got %+v, %v", tc.env, c, err)
			}
			continue
		}
		if !errors.Is(err, ErrNoAgentEnv) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want ErrNoAgentEnv %q", tc.env, err, tc.want)
		}
	}
}

func TestReportCommand(t *testing.T) {
	tb := newTable(t)
	_, slot := slots.AgentSlots(0)
	t.Setenv(EnvShm, tb.Path())
	t.Setenv(EnvSlot, strconv.Itoa(slot))
	t.Setenv(EnvName, "script")
	t.Setenv(EnvInterval, "2s")
	for i, tc := range []struct {
		args []string
		v    shm.Value
		text string
	}{
		{[]string{"ok"}, shm.OK, ""},
		{[]string{"WARNING", "disk", "slow"}, shm.Warning, "disk slow"},
		{[]string{"error", "pg_isready: no response"}, shm.Error, "pg_isready: no response"},
		{[]string{"info", "x"}, shm.Information, "x"},
	} {
		if err := ReportCommand(tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		got, _ := readResult(t, tb, slot)
		if got.Value != tc.v || got.Text != tc.text || got.Counter != uint64(i+1) || got.Interval != int64(6*time.Second) {
			t.Errorf("%q: got %+v", tc.args, got)
		}
	}
	for _, args := range [][]string{nil, {"fine"}, {"4"}} {
		if err := ReportCommand(args); err == nil {
			t.Errorf("%q: got no error", args)
		}
	}
	r, err := OpenReporter()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := ReportCommand([]string{"ok"}); !errors.Is(err, shm.ErrLocked) {
		t.Errorf("while a Reporter holds the slot: got %v, want ErrLocked", err)
	}
}

// TestPythonAgent runs shm/LAYOUT.md's Python daemon agent against a
// table made by Go, with the environment List gives a daemon agent.
func TestPythonAgent(t *testing.T) {
	py := "/usr/bin/python3" // a pyenv shim adds a second to every start
	if _, err := os.Stat(py); err != nil {
		var lerr error
		if py, lerr = exec.LookPath("python3"); lerr != nil {
			t.Skip("no python3")
		}
	}
	doc, err := os.ReadFile("../shm/LAYOUT.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```python3\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no python3 example in shm/LAYOUT.md")
	}
	prog := filepath.Join(t.TempDir(), "agent.py")
	if err := os.WriteFile(prog, m[1], 0o755); err != nil {
		t.Fatal(err)
	}
	tb := newTable(t)
	spec := daemonSpec(t, tb.Path(), 5, 200*time.Millisecond)
	// The previous instance's record: the counter goes on from it.
	tb.Write(spec.ResultSlot(), slots.AgentResult{Value: shm.Error, Counter: 41}.Record())
	bell := tb.BellValue(shm.BellHad2)
	pipe, err := tb.BellSleeper(shm.BellHad2) // had2's way of waiting
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()

	cmd := exec.Command(py, prog)
	cmd.Env = append(os.Environ(), spec.Env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	deadline := time.Now().Add(10 * time.Second)
	var got slots.AgentResult
	var rec shm.Record
	for {
		rec, _ = tb.Read(spec.ResultSlot())
		got = slots.ParseAgentResult(rec)
		if got.Counter >= 44 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Python agent wrote %+v in 10 s, want counter 44; stderr:\n%s", got, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !slots.ValidAgentResult(rec) || got.Value != shm.OK || got.Text != "python agent alive" || got.Interval != int64(spec.Hang) ||
		rec.PID != int32(cmd.Process.Pid) {
		t.Errorf("got %+v pid %d, want OK \"python agent alive\" interval %s pid %d", got, rec.PID, spec.Hang, cmd.Process.Pid)
	}
	if _, err := tb.Read(spec.ResultSlot()); err != nil {
		t.Errorf("the result reads as %v, want fresh", err)
	}
	if tb.BellValue(shm.BellHad2) == bell {
		t.Errorf("the bell did not ring for ERROR → OK")
	}
	// The ring left a byte in had2's bell pipe: a sleeper on it returns at
	// once (the bound only keeps a broken test from hanging).
	until := shm.Now() + int64(10*time.Second)
	if pipe.Sleep(until); shm.Now() >= until {
		t.Errorf("the ring wrote nothing to had2's bell pipe")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want exit 0; stderr:\n%s", err, stderr.String())
	}
}

// daemonSpec is the Spec List gives a daemon agent at index i.
func daemonSpec(t *testing.T, shmPath string, i int, interval time.Duration) Spec {
	t.Helper()
	a := defaultOf("daemon")
	a.Name, a.Interval, a.Command = "py", interval, []string{"/bin/true"}
	return spec(i, a, "", configWith(shmPath, a), "/c", "/b")
}
