package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/shm"
)

func pathUp(s console.Status, name string) bool {
	for _, p := range s.Paths {
		if p.Name == name {
			return p.Up
		}
	}
	return false
}

// quiet checks for a while that nothing moves: B stays N, A keeps serving.
func quiet(t *testing.T, c *cluster.Cluster, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		st, err := c.Status("B")
		if err != nil {
			t.Fatal(err)
		}
		if st.Node.State != "N" || st.Node.Held != "none" {
			t.Fatalf("B is %s holding %s: a single path cut must not fail over", st.Node.State, st.Node.Held)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Cut only the UDP path, then only the serial path: no failover, a warning.
// Cut both: B takes over; heal: A, the group's home, keeps it and B lets go.
func TestPathCuts(t *testing.T) {
	c, p := up(t, cluster.Options{})
	start := time.Now()
	for _, cut := range []struct {
		path         string
		cut, restore func() error
	}{
		{"lan", c.Bed.CutUDP, c.Bed.RestoreUDP},
		{"rs232", c.Bed.CutSerial, c.Bed.RestoreSerial},
	} {
		if err := cut.cut(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitStatus("B", 5*time.Second, cut.path+" down", func(s console.Status) bool { return !pathUp(s, cut.path) }); err != nil {
			t.Fatal(err)
		}
		waitLog(t, c, "B", "heartbeat path down", 2*time.Second)
		quiet(t, c, time.Second) // four dead times
		if err := cut.restore(); err != nil {
			t.Fatal(err)
		}
		restored := time.Now()
		if _, err := c.WaitStatus("B", 10*time.Second, cut.path+" up again", func(s console.Status) bool { return pathUp(s, cut.path) }); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: cut and restored; up again %v after the restore", cut.path, time.Since(restored).Round(time.Millisecond))
	}
	noRepliesFrom(t, p, "B", start)

	both := time.Now()
	if err := c.Bed.CutUDP(); err != nil {
		t.Fatal(err)
	}
	if err := c.Bed.CutSerial(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitStatus("B", 5*time.Second, "B takes over", func(s console.Status) bool { return s.Node.State == "T" }); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FirstReplyFrom("B", both, 5*time.Second); err != nil {
		t.Fatalf("both paths cut: client not served by B: %v", err)
	}
	waitARP(t, c, c.VIP(1), "B")

	heal := time.Now()
	if err := c.Bed.RestoreUDP(); err != nil {
		t.Fatal(err)
	}
	if err := c.Bed.RestoreSerial(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitStatus("B", 10*time.Second, "B releases the group", func(s console.Status) bool {
		return s.Node.State == "N" && s.Node.Held == "none"
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FirstReplyFrom("A", heal, 10*time.Second); err != nil {
		t.Fatalf("after healing: client not served by A: %v", err)
	}
	waitARP(t, c, c.VIP(1), "A")
	waitLog(t, c, "B", "split brain", time.Second)
}

// kill -9 of had1, had2, the sender and the receiver of the active node,
// one at a time: each comes back, and nothing fails over.
func TestKillEachProcess(t *testing.T) {
	c, p := up(t, cluster.Options{})
	start := time.Now()
	for _, role := range []string{"had1", "had2", "sender", "receiver"} {
		st, err := c.Status("A")
		if err != nil {
			t.Fatal(err)
		}
		old := cluster.Daemon(st, role)
		if !old.Alive || old.PID <= 0 {
			t.Fatalf("%s not alive before the kill: %+v", role, old)
		}
		killed := time.Now()
		if err := syscall.Kill(int(old.PID), syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s (%d): %v", role, old.PID, err)
		}
		st, err = c.WaitStatus("A", 5*time.Second, role+" back", func(s console.Status) bool {
			d := cluster.Daemon(s, role)
			return d.PID != old.PID && d.PID > 0 && d.Alive && d.UpdatedS < 0.5
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: pid %d killed, pid %d alive %v later", role, old.PID, cluster.Daemon(st, role).PID, time.Since(killed).Round(time.Millisecond))
	}
	// Give a missed heartbeat time to show as a failover, if there was one.
	time.Sleep(time.Second)
	noRepliesFrom(t, p, "B", start)
	if logHas(t, c, "B", `"to":"T"`) {
		t.Fatal("B took over although only processes were killed")
	}
	st, err := c.Status("A")
	if err != nil {
		t.Fatal(err)
	}
	if st.Pair != "(N,N)" || st.Node.Held != "g1" {
		t.Fatalf("after the kills A reports pair %s holding %s, want (N,N) holding g1", st.Pair, st.Node.Held)
	}
}

// Frames with a wrong key, another cluster id, a replayed sequence, cut
// short or made of random bytes, and garbage on the serial line: dropped,
// counted, and nothing else happens.
func TestBadFramesDropped(t *testing.T) {
	c, p := up(t, cluster.Options{})
	start := time.Now()
	before, err := c.Status("A")
	if err != nil {
		t.Fatal(err)
	}
	recvPID := cluster.Daemon(before, "receiver").PID

	tbl, err := shm.Open(c.ShmPath("B"))
	if err != nil {
		t.Fatal(err)
	}
	epoch := tbl.Epoch()
	tbl.Close()
	good := &wire.Keyring{Active: 1, Keys: map[uint8][]byte{1: []byte("e2e-test-secret-0123456789abcdef")}}
	bad := &wire.Keyring{Active: 1, Keys: map[uint8][]byte{1: []byte("not-the-cluster-key-at-all-00000")}}
	frame := func(kr *wire.Keyring, cluster uint32, epoch, seq uint64) []byte {
		b, err := wire.Append(nil, &wire.Frame{Kind: wire.Takeover, State: wire.StateNormal, Cluster: cluster, Node: 2,
			Epoch: epoch, Seq: seq, Time: time.Now().UnixNano()}, kr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const n = 50
	var datagrams [][]byte
	for i := 0; i < n; i++ {
		datagrams = append(datagrams,
			frame(bad, 42, epoch, uint64(1e9+i)),  // wrong key
			frame(good, 99, epoch, uint64(1e9+i)), // another cluster
			// A replay: a frame recorded during B's previous boot. (One
			// of this boot within the last 64 that A missed would be a
			// late copy, credited to its path once.)
			frame(good, 42, epoch-1, uint64(1e9+i)),
			frame(good, 42, epoch, 5)[:40], // cut short
			[]byte(fmt.Sprintf("random bytes %d %x", i, time.Now().UnixNano())),
		)
	}
	// Sent from B's namespace, so they come from the peer's address.
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.Bed.Addr("A"), 6940))
	err = c.Bed.InNS("B", func() error {
		conn, err := net.DialUDP("udp4", nil, dst)
		if err != nil {
			return err
		}
		defer conn.Close()
		for i, d := range datagrams {
			if _, err := conn.Write(d); err != nil {
				return err
			}
			// Paced: a burst of 250 overflows the receive buffer of a
			// busy receiver, and the kernel's drops are not the
			// receiver's to count.
			if i%10 == 9 {
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Garbage into B's end of the serial line reaches A's receiver.
	tty, err := os.OpenFile(c.Bed.TTY("B"), os.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := []byte(strings.Repeat("\x7e\x7e\x05garbage~~\x00\xff", 40))
	if _, err := tty.Write(garbage); err != nil {
		t.Fatal(err)
	}
	tty.Close()

	after, err := c.WaitStatus("A", 5*time.Second, "drops counted", func(s console.Status) bool {
		d, b := s.Drops, before.Drops
		return d.MAC >= b.MAC+n && d.Cluster >= b.Cluster+n && d.Replay >= b.Replay+n && d.Short >= b.Short+n && d.Serial > b.Serial
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("drops before %+v after %+v", before.Drops, after.Drops)
	if got := cluster.Daemon(after, "receiver").PID; got != recvPID {
		t.Fatalf("receiver pid %d, was %d: it crashed", got, recvPID)
	}
	if after.Pair != "(N,N)" || after.Node.Held != "g1" {
		t.Fatalf("after bad frames: pair %s holding %s, want (N,N) holding g1", after.Pair, after.Node.Held)
	}
	noRepliesFrom(t, p, "B", start)
}

// A configuration with errors: had1 --check and had1 both exit non-zero
// naming the file and the line, and nothing starts.
func TestBadConfigurationStartsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end tests run on their own")
	}
	bin, err := cluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bin, "had1")); err != nil {
		t.Skip("needs the built binaries (make build)")
	}
	dir := t.TempDir()
	shmPath := filepath.Join(dir, "had.shm")
	cfg := filepath.Join(dir, "bad.toml")
	must(t, os.WriteFile(filepath.Join(dir, "authkeys"), []byte("active 1\nkey 1 0123456789abcdef0123\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "recover.table"), []byte("vip 10.213.250.100/32 dev=eth0\nfrobnicate everything\n"), 0o644))
	must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`cluster_id = 7
node_id = 3
mode = "asymmetric"
primary = 1
failback = "auto"
key_file = "authkeys"
recover_table = "recover.table"
shm_path = %q
state_dir = %q

[timers]
interval = "100ms"
deadtime = "150ms"

[[udp]]
local = "10.213.250.1:6940"
peer = "10.213.250.2:6940"
`, shmPath, filepath.Join(dir, "state"))), 0o644))

	for _, args := range [][]string{{"--check"}, {}} {
		cmd := exec.Command(filepath.Join(bin, "had1"), append(args, "--config", cfg)...)
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		if err == nil || code == 0 {
			t.Fatalf("had1 %v: exit %d, want non-zero; output:\n%s", args, code, out)
		}
		for _, want := range []string{cfg + ":2:", "node_id", cfg + ":13:", "deadtime"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("had1 %v output lacks %q:\n%s", args, want, out)
			}
		}
	}
	if _, err := os.Stat(shmPath); err == nil {
		t.Fatal("a table was created although the configuration is bad")
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Fatal("the state directory was created although the configuration is bad")
	}

	// The same with only the table wrong: the table's file and line are named.
	fixed := strings.Replace(strings.Replace(mustRead(t, cfg), "node_id = 3", "node_id = 1", 1), `deadtime = "150ms"`, `deadtime = "300ms"`, 1)
	fixed = strings.Replace(fixed, "[timers]", "[timers]\nwarntime = \"200ms\"", 1)
	must(t, os.WriteFile(cfg, []byte(fixed), 0o644))
	out, err := exec.Command(filepath.Join(bin, "had1"), "--check", "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), filepath.Join(dir, "recover.table")+":2:") {
		t.Fatalf("had1 --check with a bad table: err %v, output:\n%s\nwant the table's file and line 2", err, out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A process that hangs (SIGSTOP) is detected by its stopped liveness
// counter, killed and replaced; had2 and the receiver hanging costs no
// failover (the sender keeps the heartbeat going meanwhile).
func TestHungProcessIsReplaced(t *testing.T) {
	c, p := up(t, cluster.Options{})
	start := time.Now()
	for _, role := range []string{"receiver", "had2", "had1"} {
		st, err := c.Status("A")
		if err != nil {
			t.Fatal(err)
		}
		old := cluster.Daemon(st, role)
		stopped := time.Now()
		if err := syscall.Kill(int(old.PID), syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		st, err = c.WaitStatus("A", 10*time.Second, role+" replaced", func(s console.Status) bool {
			d := cluster.Daemon(s, role)
			return d.PID != old.PID && d.Alive
		})
		if err != nil {
			syscall.Kill(int(old.PID), syscall.SIGCONT)
			t.Fatal(err)
		}
		t.Logf("%s: pid %d stopped, pid %d alive %v later", role, old.PID, cluster.Daemon(st, role).PID, time.Since(stopped).Round(time.Millisecond))
		if err := syscall.Kill(int(old.PID), 0); err == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", old.PID)); !strings.Contains(string(b), ") Z ") {
				t.Fatalf("hung %s (pid %d) is still there: it should have been killed", role, old.PID)
			}
		}
	}
	noRepliesFrom(t, p, "B", start)
	if logHas(t, c, "B", `"to":"T"`) {
		t.Fatal("B took over although only processes hung")
	}
}

// A process that cannot be kept running fails the node safe: it hands
// everything to the peer (TAKEOVER), stops, and had1 exits non-zero.
func TestFailSafeWhenAProcessKeepsDying(t *testing.T) {
	c, p := up(t, cluster.Options{Supervise: "max_restarts = 3\nrestart_window = \"60s\""})
	start := time.Now()
	var last int32
	for i := 0; i < 4; i++ {
		st, err := c.WaitStatus("A", 5*time.Second, "receiver running", func(s console.Status) bool {
			d := cluster.Daemon(s, "receiver")
			return d.Alive && d.PID != last
		})
		if err != nil {
			t.Fatal(err)
		}
		last = cluster.Daemon(st, "receiver").PID
		if err := syscall.Kill(int(last), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.FirstReplyFrom("B", start, 10*time.Second); err != nil {
		t.Fatalf("client not served by B after A failed safe: %v", err)
	}
	waitARP(t, c, c.VIP(1), "B")
	if err := c.Had1("A").Wait(10 * time.Second); err == nil || !strings.Contains(err.Error(), "exit status 2") {
		t.Fatalf("had1 on A ended with %v, want exit status 2 (failed safe)", err)
	}
	waitLog(t, c, "A", "node failing safe", time.Second)
	if _, err := c.WaitStatus("B", 5*time.Second, "B in T", func(s console.Status) bool { return s.Node.State == "T" }); err != nil {
		t.Fatal(err)
	}
}
