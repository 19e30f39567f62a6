package agents

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// buildPrograms builds had-agent and the example daemon agent into a
// temporary directory.
func buildPrograms(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build had-agent")
	}
	dir := t.TempDir()
	cmd := exec.Command(goBin, "build", "-o", dir+"/", "./cmd/had-agent", "./example")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// node writes a node configuration with these agents (TOML) and returns
// its path and the table's.
func node(t *testing.T, agentsDir string, agents string) (cfgPath, table string) {
	t.Helper()
	dir := t.TempDir()
	table = filepath.Join(dir, "table")
	for _, f := range []string{"authkeys", "recover.table"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := fmt.Sprintf(`cluster_id = 1
node_id = 1
mode = "asymmetric"
primary = 1
key_file = "authkeys"
recover_table = "recover.table"
shm_path = %q
agents_dir = %q
log_level = "debug"
[[udp]]
local = "10.213.0.1:6940"
peer = "10.213.0.2:6940"
%s`, table, agentsDir, agents)
	cfgPath = filepath.Join(dir, "had.toml")
	if err := os.WriteFile(cfgPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, table
}

// started is a program this test started and kills when it ends.
type started struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan error
}

func start(t *testing.T, env []string, argv ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(argv[0], argv[1:]...), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

// wait waits for the program's exit, at most d.
func (s *started) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(d):
		t.Fatalf("%s still runs after %s; stderr:\n%s", s.cmd.Path, d, s.stderr)
		return nil
	}
}

// waitSlot polls a slot until ok says yes, at most d.
func waitSlot(t *testing.T, tb *shm.Table, slot int, d time.Duration, ok func(shm.Record) bool) shm.Record {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		rec, _ := tb.Read(slot)
		if ok(rec) {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot %d: got %+v after %s", slot, rec, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHadAgentProgram runs the built had-agent against a table in a
// temporary directory: it writes its slot, the counter grows, a change of
// value rings had2's bell, a second copy is refused, --once works without
// the table, an agents-directory program runs too, and SIGTERM ends it
// with exit 0.
func TestHadAgentProgram(t *testing.T) {
	bin := buildPrograms(t)
	agent := filepath.Join(bin, Program)
	work := t.TempDir()
	flag := filepath.Join(work, "fail")
	agentsDir := filepath.Join(work, "agents.d")
	if err := os.Mkdir(agentsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(agentsDir, "dircheck"), []byte("#!/bin/sh\necho 'DIR OK - from the directory'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath, tablePath := node(t, agentsDir, fmt.Sprintf(`[[agent]]
name = "flag"
kind = "exec"
critical = true
interval = "200ms"
command = ["sh", "-c", "if test -e %s; then echo 'FLAG CRITICAL - raised'; exit 2; fi; echo 'FLAG OK - lowered'"]
[[agent]]
name = "switch"
kind = "daemon"
interval = "200ms"
command = [%q, %q]
`, flag, filepath.Join(bin, "example"), flag))
	tb, err := shm.Create(tablePath, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	specs, errs := List(cfg, cfgPath, bin)
	if len(specs) != 3 || len(errs) != 0 || specs[2].Name != "dircheck" {
		t.Fatalf("got %+v, %v; want flag, switch, dircheck", specs, errs)
	}
	fresh := func(min uint64, v shm.Value) func(shm.Record) bool {
		return func(r shm.Record) bool {
			res := slots.ParseAgentResult(r)
			return slots.ValidAgentResult(r) && res.Counter >= min && res.Value == v
		}
	}

	// The exec agent, as had1 starts it.
	flagSpec := specs[0]
	p := start(t, nil, flagSpec.Argv...)
	rec := waitSlot(t, tb, flagSpec.ResultSlot(), 5*time.Second, fresh(3, shm.OK))
	res := slots.ParseAgentResult(rec)
	if rec.PID != int32(p.cmd.Process.Pid) || res.Text != "FLAG OK - lowered" || res.Interval != int64(flagSpec.Hang) {
		t.Errorf("got %+v pid %d; want pid %d, the plugin's text, interval %s", res, rec.PID, p.cmd.Process.Pid, flagSpec.Hang)
	}
	if _, err := tb.Read(flagSpec.ResultSlot()); err != nil {
		t.Errorf("the result reads %v, want fresh", err)
	}
	bell := tb.BellValue(shm.BellHad2)
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	changedAt := time.Now()
	rec = waitSlot(t, tb, flagSpec.ResultSlot(), 2*time.Second, fresh(res.Counter+1, shm.Error))
	t.Logf("the flag raised → ERROR in the slot after %s", time.Since(changedAt).Round(time.Millisecond))
	if tb.BellValue(shm.BellHad2) == bell {
		t.Errorf("the bell did not ring for OK → ERROR")
	}

	// A second copy is refused; --once needs no table.
	second := start(t, nil, flagSpec.Argv...)
	var ee *exec.ExitError
	if err := second.wait(t, 5*time.Second); !errors.As(err, &ee) || ee.ExitCode() != ExitError || !strings.Contains(second.stderr.String(), "another agent flag is running") {
		t.Errorf("second copy: got %v, stderr %s; want exit 1, another agent flag is running", err, second.stderr)
	}
	out, err := exec.Command(agent, "--config", cfgPath, "--agent", "flag", "--once").Output()
	if !errors.As(err, &ee) || ee.ExitCode() != nagiosCritical || string(out) != "ERROR: FLAG CRITICAL - raised\n" {
		t.Errorf("--once: got %q, %v; want \"ERROR: FLAG CRITICAL - raised\" and exit 2", out, err)
	}
	if out, err := exec.Command(agent, "--config", cfgPath, "--agent", "nope").CombinedOutput(); !errors.As(err, &ee) || ee.ExitCode() != ExitError {
		t.Errorf("unknown agent: got %v\n%s; want exit 1", err, out)
	}
	if out, err := exec.Command(agent, "--config", cfgPath, "--agent", "switch").CombinedOutput(); !errors.As(err, &ee) || !strings.Contains(string(out), "not run by had-agent") {
		t.Errorf("daemon agent: got %v\n%s; want a refusal", err, out)
	}

	// The agents directory's program, found by List in had-agent too.
	dirSpec := specs[2]
	start(t, nil, dirSpec.Argv...)
	waitSlot(t, tb, dirSpec.ResultSlot(), 15*time.Second, fresh(1, shm.OK))

	// The example daemon agent, with the environment had1 gives it.
	sw := specs[1]
	start(t, sw.Env, sw.Argv...)
	waitSlot(t, tb, sw.ResultSlot(), 5*time.Second, fresh(2, shm.Error))
	os.Remove(flag)
	waitSlot(t, tb, sw.ResultSlot(), 5*time.Second, fresh(3, shm.OK))

	// SIGTERM: exit 0.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t, 5*time.Second); err != nil {
		t.Errorf("after SIGTERM: %v, want exit 0; stderr:\n%s", err, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), `"agent":"flag"`) || !strings.Contains(p.stderr.String(), `"proc":"agent"`) {
		t.Errorf("log lines lack the agent's name:\n%s", p.stderr)
	}
}
