package agents

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func execAgent(argv ...string) config.Agent {
	a := config.DefaultAgent(config.KindExec, "plugin")
	a.Command = argv
	return a
}

func TestNagiosResult(t *testing.T) {
	tests := []struct {
		code           int
		signaled       bool
		stdout, stderr string
		want           shm.Value
		text           string
	}{
		{0, false, "TCP OK - 0.000 second response time on 127.0.0.1 port 22|time=0.000130s;;;0.000000;10.000000\n", "", shm.OK, "TCP OK - 0.000 second response time on 127.0.0.1 port 22"},
		{1, false, "DISK WARNING - free space: / 900 MB\nsecond line\n", "", shm.Warning, "DISK WARNING - free space: / 900 MB"},
		{2, false, "CRITICAL - Socket timeout\n", "", shm.Error, "CRITICAL - Socket timeout"},
		{3, false, "check_http: Invalid hostname/address - nope\n", "", shm.Warning, "UNKNOWN: check_http: Invalid hostname/address - nope"},
		{3, false, "PROCS UNKNOWN: bad args\n", "", shm.Warning, "PROCS UNKNOWN: bad args"},
		{4, false, "what\n", "", shm.Error, "exit code 4: what"},
		{255, false, "", "", shm.Error, "exit code 255: (no output)"},
		{9, true, "half", "", shm.Error, "killed by signal 9: half"},
		{2, false, "", "oops: no such file\nmore", shm.Error, "(no output) stderr: oops: no such file"},
		{0, false, "  |perf only\n", "", shm.OK, "(no output)"},
		{0, false, "bad \xff byte", "", shm.OK, "bad ? byte"},
	}
	for _, tc := range tests {
		got := nagiosResult(tc.code, tc.signaled, []byte(tc.stdout), []byte(tc.stderr))
		if got.Value != tc.want || got.Text != tc.text {
			t.Errorf("exit %d %q: got %v %q, want %v %q", tc.code, tc.stdout, got.Value, got.Text, tc.want, tc.text)
		}
	}
}

func TestExecCheck(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		body string
		want shm.Value
		text string
	}{
		{"ok", "echo 'APP OK - fine|t=1'; exit 0\n", shm.OK, "APP OK - fine"},
		{"warning", "echo 'APP WARNING - slow'; exit 1\n", shm.Warning, "APP WARNING - slow"},
		{"critical", "echo 'APP CRITICAL - down'; exit 2\n", shm.Error, "APP CRITICAL - down"},
		{"unknown", "echo 'APP UNKNOWN - cannot tell'; exit 3\n", shm.Warning, "APP UNKNOWN - cannot tell"},
		{"other code", "echo odd; exit 7\n", shm.Error, "exit code 7: odd"},
		{"signal", "echo dying; kill -9 $$\n", shm.Error, "killed by signal 9: dying"},
		{"stderr only", "echo 'no config' >&2; exit 2\n", shm.Error, "(no output) stderr: no config"},
		{"environment", "echo \"I am $HAD_AGENT_NAME\"\n", shm.OK, "I am plugin"},
		{"stdin is empty", "read x && echo got input || echo no input\n", shm.OK, "no input"},
		{"flood", "yes | head -c 1000000; exit 0\n", shm.OK, "y"},
	}
	for _, tc := range tests {
		p := script(t, dir, tc.name, tc.body)
		got := New1(t, execAgent(p)).Check(context.Background())
		if got.Value != tc.want || got.Text != tc.text {
			t.Errorf("%s: got %v %q, want %v %q", tc.name, got.Value, got.Text, tc.want, tc.text)
		}
	}
	got := New1(t, execAgent(filepath.Join(dir, "missing"))).Check(context.Background())
	if got.Value != shm.Error || !strings.Contains(got.Text, "no such file") {
		t.Errorf("missing program: got %v %q, want ERROR", got.Value, got.Text)
	}
	got = New1(t, execAgent("sh", "-c", "echo via the shell; exit 1")).Check(context.Background())
	if got.Value != shm.Warning || got.Text != "via the shell" {
		t.Errorf("sh -c: got %v %q, want WARNING", got.Value, got.Text)
	}
}

// TestExecTimeoutKillsTheGroup: a plugin still running at the timeout is
// killed with everything it started.
func TestExecTimeoutKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	p := script(t, dir, "hang", "sleep 60 & echo $! > "+pidFile+"\nwait\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := New1(t, execAgent(p)).Check(ctx)
	// Well before the plugin's 60 s, however loaded the machine.
	if took := time.Since(start); got.Value != shm.Error || took > 20*time.Second {
		t.Fatalf("got %v %q after %s, want ERROR at the 300ms timeout, long before the plugin's 60 s", got.Value, got.Text, took)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := procFS{}.Stat(pid)
		if err != nil || st.State == 'Z' || st.Comm != "sleep" {
			break // gone, or a zombie waiting for a reaper
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin's child %d (%+v) survived the timeout", pid, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestExecMonitoringPlugins runs Debian's monitoring-plugins-basic
// check_tcp, unmodified, against a port on loopback.
func TestExecMonitoringPlugins(t *testing.T) {
	const plugin = "/usr/lib/nagios/plugins/check_tcp"
	if _, err := os.Stat(plugin); err != nil {
		t.Skip("monitoring-plugins-basic is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c := New1(t, execAgent(plugin, "-H", "127.0.0.1", "-p", port, "-t", "5"))
	got := c.Check(context.Background())
	if got.Value != shm.OK || !strings.HasPrefix(got.Text, "TCP OK") || strings.Contains(got.Text, "|") {
		t.Errorf("listening: got %v %q, want OK \"TCP OK …\" without perfdata", got.Value, got.Text)
	}
	ln.Close()
	got = c.Check(context.Background())
	if got.Value != shm.Error || !strings.Contains(got.Text, "Connection refused") {
		t.Errorf("closed: got %v %q, want ERROR (CRITICAL) connection refused", got.Value, got.Text)
	}
	got = New1(t, execAgent(plugin, "--bogus")).Check(context.Background()) // usage: UNKNOWN
	if got.Value != shm.Warning {
		t.Errorf("bad arguments: got %v %q, want WARNING (UNKNOWN)", got.Value, got.Text)
	}
	t.Logf("UNKNOWN reads %q", got.Text)
}
