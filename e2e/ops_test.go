package e2e

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// readSlot reads one slot of node's record table.
func readSlot(t *testing.T, c *cluster.Cluster, node string, slot int) shm.Record {
	t.Helper()
	tbl, err := shm.Open(c.ShmPath(node))
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	r, err := tbl.Read(slot)
	if err != nil && !errors.Is(err, shm.ErrStale) {
		t.Fatalf("read slot %d of %s: %v", slot, node, err)
	}
	return r
}

// had1Slot is node's had1 record.
func had1Slot(t *testing.T, c *cluster.Cluster, node string) slots.Daemon {
	t.Helper()
	return slots.ParseDaemon(readSlot(t, c, node, shm.SlotHad1))
}

// sighupAndWait sends SIGHUP to node's had1 and waits for its answer: the
// reload count in its slot grows. It returns the answer and how long it
// took.
func sighupAndWait(t *testing.T, c *cluster.Cluster, node string) (slots.Daemon, time.Duration) {
	t.Helper()
	before := had1Slot(t, c, node)
	began := time.Now()
	if err := syscall.Kill(int(before.PID), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP had1 (%d): %v", before.PID, err)
	}
	deadline := began.Add(30 * time.Second)
	for {
		d := had1Slot(t, c, node)
		if d.Extra[slots.ExtraReloadGen] > before.Extra[slots.ExtraReloadGen] {
			return d, time.Since(began)
		}
		if time.Now().After(deadline) {
			t.Fatalf("had1 on %s never answered the reload (count %d)", node, d.Extra[slots.ExtraReloadGen])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// heardPerSecond is how many of the peer's frames node's receiver took on
// its first path within one second: the peer's heartbeat rate.
func heardPerSecond(t *testing.T, c *cluster.Cluster, node string) uint64 {
	t.Helper()
	heard := func() uint64 { return slots.ParsePath(readSlot(t, c, node, shm.SlotPath0)).Heard }
	before := heard()
	time.Sleep(time.Second) // a measuring window, not a wait for a condition
	return heard() - before
}

// countLog counts the lines of node's had log that contain s.
func countLog(t *testing.T, c *cluster.Cluster, node, s string) int {
	t.Helper()
	b, err := os.ReadFile(c.Bed.LogPath(node, "had1"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), s)
}

// maxGap is the longest silence the client heard between since and until,
// and whether anybody but node answered then.
func maxGap(p *testbed.Prober, node string, since, until time.Time) (gap time.Duration, others bool) {
	var in []testbed.Reply
	for _, r := range p.Replies() {
		if r.Received.Before(since) || r.Received.After(until) {
			continue
		}
		if r.Node != node {
			others = true
		}
		in = append(in, r)
	}
	for _, g := range testbed.Gaps(in, 0) {
		gap = max(gap, g.Len())
	}
	if len(in) > 0 {
		gap = max(gap, in[0].Received.Sub(since), until.Sub(in[len(in)-1].Received))
	}
	return gap, others
}

const reloadTimers = `interval = "100ms"
deadtime = "350ms"`

const reloadAgents = `[[agent]]
name = "disk"
kind = "disk"
interval = "1s"`

// Reload (SIGHUP to had1) on the active node: a new heartbeat interval and
// a new agent are applied, every process but had1 restarts, and the client
// is answered by A at the VIP throughout. Then a bad configuration and one
// that changes the node's identity are refused, and the running one stays.
func TestReload(t *testing.T) {
	c, p := up(t, cluster.Options{Timers: reloadTimers, Agents: reloadAgents})
	old := heardPerSecond(t, c, "B")
	if old < 8 || old > 12 {
		t.Fatalf("B heard %d frames a second from A before the reload, want about 10 (a 100ms interval)", old)
	}
	before, err := c.Status("A")
	if err != nil {
		t.Fatal(err)
	}
	transitions := countLog(t, c, "A", `"msg":"state changed"`)

	path := c.ConfigPath("A")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	good := strings.Replace(string(orig), `interval = "100ms"`, `interval = "50ms"`, 1)
	good += "\n[[agent]]\nname = \"mem\"\nkind = \"memory\"\ninterval = \"500ms\"\n"
	if good == string(orig)+"\n[[agent]]\nname = \"mem\"\nkind = \"memory\"\ninterval = \"500ms\"\n" {
		t.Fatal("the timer line to change is not in the configuration")
	}
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	ans, took := sighupAndWait(t, c, "A")
	t.Logf("reload answered in %v: ok=%d %q", took.Round(time.Millisecond), ans.Extra[slots.ExtraReloadOK], ans.Text)
	if ans.Extra[slots.ExtraReloadOK] != 1 {
		t.Fatalf("reload refused: %q", ans.Text)
	}
	if ans.PID != int32(cluster.Daemon(before, "had1").PID) {
		t.Errorf("had1 is pid %d after the reload, was %d: had1 reloads in place", ans.PID, cluster.Daemon(before, "had1").PID)
	}
	st, err := c.WaitStatus("A", 10*time.Second, "new agent and processes", func(s console.Status) bool {
		admin := cluster.Daemon(s, "admin")
		return agentOf(s, "mem").Value == "OK" && admin.Alive && admin.PID != cluster.Daemon(before, "admin").PID
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"had2", "sender", "receiver", "admin"} {
		if was, now := cluster.Daemon(before, role).PID, cluster.Daemon(st, role).PID; was == now || !cluster.Daemon(st, role).Alive {
			t.Errorf("%s: pid %d before the reload, %d (alive %v) after: want a new, live process", role, was, now, cluster.Daemon(st, role).Alive)
		}
	}
	if a := agentOf(st, "disk"); a.PID != agentOf(before, "disk").PID {
		t.Errorf("unchanged agent disk restarted: pid %d, was %d", a.PID, agentOf(before, "disk").PID)
	}
	// Also the time a slow failover, if one were coming, would need to show.
	rate := heardPerSecond(t, c, "B")
	t.Logf("B hears %d frames a second from A, %d before the reload", rate, old)
	if rate < 16 {
		t.Errorf("B hears %d frames a second from A after the reload, want about 20 (the new 50ms interval)", rate)
	}
	worst, others := maxGap(p, "A", began, time.Now())
	idle, _ := maxGap(p, "A", began.Add(-time.Second), began)
	t.Logf("client's longest silence from the SIGHUP to now: %v (in the second before: %v)", worst.Round(time.Millisecond), idle.Round(time.Millisecond))
	if others {
		t.Error("somebody but A answered at the VIP during the reload")
	}
	if worst > 200*time.Millisecond {
		t.Errorf("client heard nothing for %v during the reload, want at most 200ms", worst)
	}
	if n := countLog(t, c, "A", `"msg":"state changed"`); n != transitions {
		t.Errorf("A changed state %d times during the reload, want never", n-transitions)
	}
	if st.Node.State != "N" || st.Node.Held != "g1" || st.Pair != "(N,N)" {
		t.Errorf("after the reload A is %s holding %s, pair %s; want N holding g1, (N,N)", st.Node.State, st.Node.Held, st.Pair)
	}

	// A bad value on a known line: refused, naming file and line.
	lines := strings.Split(good, "\n")
	bad, line := "", 0
	for i, l := range lines {
		if strings.HasPrefix(l, `interval = "50ms"`) {
			lines[i], line = `interval = "soon"`, i+1
			break
		}
	}
	bad = strings.Join(lines, "\n")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	ans, took = sighupAndWait(t, c, "A")
	t.Logf("bad configuration answered in %v: %q", took.Round(time.Millisecond), ans.Text)
	if want := fmt.Sprintf("A.toml:%d:", line); ans.Extra[slots.ExtraReloadOK] != 0 || !strings.Contains(ans.Text, want) {
		t.Errorf("bad configuration: ok=%d %q, want refused naming %s", ans.Extra[slots.ExtraReloadOK], ans.Text, want)
	}
	// What a running node cannot change: refused, saying what.
	ident := strings.Replace(good, "cluster_id = 42", "cluster_id = 43", 1)
	if err := os.WriteFile(path, []byte(ident), 0o644); err != nil {
		t.Fatal(err)
	}
	ans, _ = sighupAndWait(t, c, "A")
	if ans.Extra[slots.ExtraReloadOK] != 0 || !strings.Contains(ans.Text, "cluster_id") {
		t.Errorf("cluster_id change: ok=%d %q, want refused naming cluster_id", ans.Extra[slots.ExtraReloadOK], ans.Text)
	}
	after, err := c.Status("A")
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"had1", "had2", "sender", "receiver"} {
		if was, now := cluster.Daemon(st, role).PID, cluster.Daemon(after, role).PID; was != now {
			t.Errorf("%s restarted by a refused reload: pid %d, was %d", role, now, was)
		}
	}
	if rate := heardPerSecond(t, c, "B"); rate < 16 {
		t.Errorf("after the refused reloads B hears %d frames a second from A: the applied 50ms interval was lost", rate)
	}
	if _, err := p.FirstReplyFrom("A", time.Now(), 2*time.Second); err != nil {
		t.Errorf("after the refused reloads the client is not served by A: %v", err)
	}

	// From the console: hactl reload goes through the admin server, which
	// had1 restarts only after the answer is in its slot, so the answer
	// reaches hactl.
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	hactl := time.Now()
	out, err := c.Hactl("A", "reload")
	t.Logf("hactl reload in %v: %s", time.Since(hactl).Round(time.Millisecond), strings.TrimSpace(out))
	if err != nil || !strings.Contains(out, "reload applied") {
		t.Errorf("hactl reload: %v: %s", err, out)
	}
	noRepliesFrom(t, p, "B", began)
}

// newCluster builds a bed and writes a cluster's configuration, starting
// nothing.
func newCluster(t *testing.T, opts cluster.Options) *cluster.Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("end-to-end tests need root")
	}
	if testing.Short() {
		t.Skip("end-to-end tests run on their own (make test runs them after the unit tests)")
	}
	bin, err := cluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	var dir string
	if keep := os.Getenv("HAD_E2E_KEEP"); keep != "" {
		dir = filepath.Join(keep, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bed := testbed.New(t, testbed.Options{Dir: dir})
	c, err := cluster.New(bed, bin, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// initScript runs deploy/init.d/had with action in node's namespace, with
// its settings from defaults, and returns its output and exit status.
func initScript(t *testing.T, c *cluster.Cluster, node, defaults, action string) (string, int, time.Duration) {
	t.Helper()
	script, err := filepath.Abs("../deploy/init.d/had")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	out, err := c.Bed.Exec(node, "env", "HAD_DEFAULTS="+defaults, "/bin/sh", script, action)
	took := time.Since(began)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out, 0, took
	case errors.As(err, &exit):
		return out, exit.ExitCode(), took
	}
	t.Fatalf("init script %s: %v", action, err)
	return "", 0, 0
}

// nodeProcs lists the live processes whose arguments name cfg: had1, had2,
// the sender, the receiver, the admin server, had-agent.
func nodeProcs(t *testing.T, cfg string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if !slices.Contains(args, cfg) && !slices.Contains(args, "--config="+cfg) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join(d, "stat")); err != nil || strings.Contains(string(st), ") Z ") {
			continue // gone, or a zombie nobody reaps (this sandbox's PID 1)
		}
		out = append(out, filepath.Base(d)+" "+strings.Join(args, " "))
	}
	return out
}

// pidFrom reads a pid file.
func pidFrom(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// The LSB init script runs node A: start returns once the node runs and
// serves, status follows it (0 running, 3 stopped, 1 dead with a pid
// file), the pid file follows a had1 that had2 restarted, force-reload
// reloads, stop hands over and leaves no had process, restart brings the
// node back.
func TestInitScript(t *testing.T) {
	c := newCluster(t, cluster.Options{})
	if err := c.Start("B"); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(c.Bed.RunDir("A"), "had1.pid")
	defaults := filepath.Join(c.Bed.Dir(), "default-had")
	settings := fmt.Sprintf("CONFIG=%s\nPIDFILE=%s\nBINDIR=%s\nLOGFILE=%s\nSTART_TIMEOUT=30\nSTOP_TIMEOUT=30\n",
		c.ConfigPath("A"), pidFile, c.Bin, c.Bed.LogPath("A", "had1"))
	if err := os.WriteFile(defaults, []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	status := func(want int) {
		t.Helper()
		out, code, _ := initScript(t, c, "A", defaults, "status")
		if code != want {
			t.Fatalf("status: exit %d (%s), want %d", code, strings.TrimSpace(out), want)
		}
	}
	status(3)

	vip := netip.AddrPortFrom(c.VIP(1), cluster.ServicePort)
	p, err := c.Bed.Probe(vip)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	out, code, took := initScript(t, c, "A", defaults, "start")
	t.Logf("start: exit %d in %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(out))
	if code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	if d := had1Slot(t, c, "A"); d.Phase != slots.PhaseRunning || int(d.PID) != pidFrom(t, pidFile) {
		t.Errorf("after start: had1 phase %d pid %d, pid file %d; want running, the same pid", d.Phase, d.PID, pidFrom(t, pidFile))
	}
	status(0)
	if _, err := p.FirstReplyFrom("A", time.Time{}, 20*time.Second); err != nil {
		t.Fatalf("client never served by A: %v", err)
	}
	if _, err := c.WaitStatus("B", 10*time.Second, "pair (N,N)", func(s console.Status) bool { return s.Pair == "(N,N)" }); err != nil {
		t.Fatal(err)
	}
	if out, code, _ := initScript(t, c, "A", defaults, "start"); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("start of a running node: exit %d: %s", code, out)
	}

	// had2 restarts a killed had1, which rewrites the pid file.
	old := pidFrom(t, pidFile)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pidFrom(t, pidFile) == old || int(had1Slot(t, c, "A").PID) != pidFrom(t, pidFile) {
		if time.Now().After(deadline) {
			t.Fatalf("pid file still says %d after had1 %d was killed (had1's slot: %d)", pidFrom(t, pidFile), old, had1Slot(t, c, "A").PID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	status(0)

	gen := had1Slot(t, c, "A").Extra[slots.ExtraReloadGen]
	if out, code, _ := initScript(t, c, "A", defaults, "force-reload"); code != 0 {
		t.Fatalf("force-reload: exit %d: %s", code, out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for had1Slot(t, c, "A").Extra[slots.ExtraReloadGen] == gen {
		if time.Now().After(deadline) {
			t.Fatal("force-reload: had1 never answered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := had1Slot(t, c, "A"); d.Extra[slots.ExtraReloadOK] != 1 {
		t.Errorf("force-reload of an unchanged configuration refused: %q", d.Text)
	}

	stopped := time.Now()
	out, code, took = initScript(t, c, "A", defaults, "stop")
	t.Logf("stop: exit %d in %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(out))
	if code != 0 {
		t.Fatalf("stop: exit %d: %s", code, out)
	}
	if left := nodeProcs(t, c.ConfigPath("A")); len(left) > 0 {
		t.Errorf("had processes of A left after stop: %q", left)
	}
	status(3)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file after stop: %v, want none", err)
	}
	if _, err := p.FirstReplyFrom("B", stopped, 5*time.Second); err != nil {
		t.Errorf("after stop the client is not served by B: %v", err)
	}
	if out, code, _ := initScript(t, c, "A", defaults, "stop"); code != 0 {
		t.Errorf("stop of a stopped node: exit %d: %s", code, out)
	}

	// A pid file naming a process that is gone: dead (1).
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(gone.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status(1)

	restarted := time.Now()
	out, code, took = initScript(t, c, "A", defaults, "restart")
	t.Logf("restart: exit %d in %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(out))
	if code != 0 {
		t.Fatalf("restart: exit %d: %s", code, out)
	}
	status(0)
	if _, err := p.FirstReplyFrom("A", restarted, 20*time.Second); err != nil {
		t.Errorf("after restart the client is not served by A again: %v", err)
	}
	out, code, took = initScript(t, c, "A", defaults, "restart")
	t.Logf("restart of a running node: exit %d in %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(out))
	if code != 0 {
		t.Fatalf("restart of a running node: exit %d: %s", code, out)
	}
	status(0)
	if out, code, _ := initScript(t, c, "A", defaults, "stop"); code != 0 {
		t.Errorf("final stop: exit %d: %s", code, out)
	}
	if left := nodeProcs(t, c.ConfigPath("A")); len(left) > 0 {
		t.Errorf("had processes of A left after the final stop: %q", left)
	}
}
