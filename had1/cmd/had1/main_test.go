package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// The test binary stands in for had1 and for the processes it starts (the
// os/exec helper-command pattern): run under a child's name (a symbolic
// link in the node's bin_dir) it is a fake of that child, and with
// HAD1_TEST_MAIN set it is had1 itself, running main.
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "had2", "had-sender", "had-receiver", "had-admin":
		fakeChild(filepath.Base(os.Args[0]))
		return
	}
	if os.Getenv("HAD1_TEST_MAIN") != "" {
		os.Args = append([]string{"had1"}, strings.Fields(os.Getenv("HAD1_TEST_MAIN"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeChild keeps the role's slot fresh with its PID until SIGTERM (had2
// first writes PhaseStopping, as after a handover).
func fakeChild(prog string) {
	slot := map[string]int{"had2": shm.SlotHad2, "had-sender": shm.SlotSender,
		"had-receiver": shm.SlotReceiver, "had-admin": shm.SlotAdminSrv}[prog]
	cfg, err := config.Load(os.Args[len(os.Args)-1])
	if err != nil {
		fmt.Fprintln(os.Stderr, prog, err)
		os.Exit(1)
	}
	t, err := shm.Open(cfg.ShmPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, prog, err)
		os.Exit(1)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	start, _ := daemon.StartTime(os.Getpid())
	d := slots.Daemon{Value: shm.OK, Interval: int64(cfg.Supervise.HangTimeout), Start: start, Phase: slots.PhaseRunning}
	tick := time.NewTicker(50 * time.Millisecond)
	for {
		d.Counter++
		t.Write(slot, d.Record())
		select {
		case <-term:
			d.Phase = slots.PhaseStopping
			t.Write(slot, d.Record())
			os.Exit(0)
		case <-tick.C:
		}
	}
}

// writeNode writes a valid standby node (node 2 of an asymmetric pair) whose
// bin_dir holds the fakes, and returns its configuration's path.
func writeNode(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"had2", "had-sender", "had-receiver", "had-admin", "had-agent"} {
		if err := os.Symlink(self, filepath.Join(bin, p)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"authkeys":       "active 1\nkey 1 unit-test-secret-0123456789abcdef\n",
		"takeover.table": "vip 192.0.2.100/32 dev=lo\n",
		"had.toml": fmt.Sprintf(`cluster_id = 7
node_id = 2
mode = "asymmetric"
primary = 1
key_file = "authkeys"
takeover_table = "takeover.table"
shm_path = %q
state_dir = %q
bin_dir = %q

[[udp]]
local = "127.0.0.1:16940"
peer = "127.0.0.1:16941"

[admin]
socket = %q
`, filepath.Join(dir, "had.shm"), filepath.Join(dir, "state"), bin, filepath.Join(dir, "admin.sock")),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "had.toml")
}

// notifications collects what arrives on a fake NOTIFY_SOCKET.
type notifications struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notifications) listen(t *testing.T, path string) {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
}

// count is how many messages so far contain s as one of their lines.
func (n *notifications) count(s string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, m := range n.msgs {
		for _, l := range strings.Split(m, "\n") {
			if l == s {
				c++
			}
		}
	}
	return c
}

func (n *notifications) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.msgs, " | ")
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, n *notifications, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; notifications: %s\nhad1's log:\n%s", what, timeout, n, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the child's writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// had1 under systemd (a fake NOTIFY_SOCKET, WATCHDOG_USEC set): READY=1
// with its MAINPID once the comm processes run, and the pid file then;
// WATCHDOG=1 every half period; a second had1 hands the unit over to the
// first (MAINPID); RELOADING=1 then READY=1 around a reload
// (SIGHUP); STOPPING=1 on SIGTERM, then a clean exit that removes the pid
// file.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	cfg := writeNode(t, dir)
	sock := filepath.Join(dir, "notify.sock")
	var n notifications
	n.listen(t, sock)
	pidFile := filepath.Join(dir, "run", "had1.pid")

	var out syncBuffer
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HAD1_TEST_MAIN=--config "+cfg+" --pidfile "+pidFile,
		"NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		// The fakes are had1's children in their own process groups: end
		// them by the PIDs their slots name.
		if tbl, err := shm.Open(filepath.Join(dir, "had.shm")); err == nil {
			for _, s := range []int{shm.SlotHad2, shm.SlotSender, shm.SlotReceiver, shm.SlotAdminSrv} {
				if r, err := tbl.Read(s); err == nil || r.PID > 0 {
					if d := slots.ParseDaemon(r); d.PID > 0 {
						if st, err := daemon.StartTime(int(d.PID)); err == nil && st == d.Start {
							_ = syscall.Kill(int(d.PID), syscall.SIGKILL)
						}
					}
				}
			}
			tbl.Close()
		}
	})
	log := &out
	pid := cmd.Process.Pid

	ready := fmt.Sprintf("MAINPID=%d", pid)
	waitFor(t, 10*time.Second, "READY=1 with MAINPID", func() bool { return n.count("READY=1") == 1 && n.count(ready) == 1 }, &n, log)
	b, err := os.ReadFile(pidFile)
	if got := strings.TrimSpace(string(b)); err != nil || got != strconv.Itoa(pid) {
		t.Errorf("pid file after READY=1: %q, %v; want %d", got, err, pid)
	}
	from := n.count("WATCHDOG=1")
	began := time.Now()
	waitFor(t, 2*time.Second, "WATCHDOG=1 three times", func() bool { return n.count("WATCHDOG=1") >= from+3 }, &n, log)
	if took := time.Since(began); took < 150*time.Millisecond {
		t.Errorf("three WATCHDOG=1 within %v: want one per half period (100ms)", took)
	}

	// A second had1 that systemd starts (the unit restarted while this one
	// ran on) hands the unit over to the running one and leaves.
	second := exec.Command(os.Args[0])
	second.Env = append(os.Environ(), "HAD1_TEST_MAIN=--config "+cfg, "NOTIFY_SOCKET="+sock)
	if b, err := second.CombinedOutput(); err != nil {
		t.Errorf("a second had1 under systemd: %v, want exit 0 after handing over\n%s", err, b)
	}
	waitFor(t, 5*time.Second, "the second had1's MAINPID and READY=1", func() bool { return n.count(ready) == 2 && n.count("READY=1") == 2 }, &n, log)

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "RELOADING=1 then READY=1", func() bool { return n.count("RELOADING=1") == 1 && n.count("READY=1") == 3 }, &n, log)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "STOPPING=1", func() bool { return n.count("STOPPING=1") == 1 }, &n, log)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("had1 exited with %v after SIGTERM, want 0\n%s", err, &out)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("had1 still running 15s after SIGTERM\n%s", &out)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file after a graceful stop: %v, want it removed", err)
	}
	t.Logf("notifications: %s", &n)
	if !strings.Contains(out.String(), `"message":"configuration reloaded"`) {
		t.Errorf("no reload in had1's log:\n%s", &out)
	}
}
