package comm_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// The two programs as had1 runs them: node 1's had-sender to node 2's
// had-receiver over loopback UDP, each with its own table.
func TestPrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the programs")
	}
	dir := t.TempDir()
	bin := func(name string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, b)
		}
		return out
	}
	sender, receiver := bin("had-sender"), bin("had-receiver")

	p1, p2 := freePort(t), freePort(t)
	keys := filepath.Join(dir, "authkeys")
	os.WriteFile(keys, []byte("active 1\nkey 1 hex:"+strings.Repeat("ab", 32)+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "recover.table"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "takeover.table"), nil, 0o600)
	conf := func(node, local, remote int, tableKey, tableFile string) (string, string) {
		shmPath := filepath.Join(dir, fmt.Sprintf("node%d.shm", node))
		path := filepath.Join(dir, fmt.Sprintf("node%d.toml", node))
		s := fmt.Sprintf(`cluster_id = 42
node_id = %d
mode = "asymmetric"
primary = 1
key_file = "authkeys"
%s = "%s"
shm_path = %q
bin_dir = %q
log_level = "info"
[timers]
interval = "10ms"
warntime = "30ms"
deadtime = "50ms"
initdead = "1s"
[[udp]]
local = "127.0.0.1:%d"
peer = "127.0.0.1:%d"
`, node, tableKey, tableFile, shmPath, dir, local, remote)
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return path, shmPath
	}
	conf1, shm1 := conf(1, p1, p2, "recover_table", "recover.table")
	conf2, shm2 := conf(2, p2, p1, "takeover_table", "takeover.table")

	// Without the table (had1 makes it), both refuse to run.
	if code, out := runToEnd(t, sender, "--config", conf1); code != 1 || !strings.Contains(out, "open table") {
		t.Errorf("sender without a table: exit %d, %q; want 1 and the reason", code, out)
	}
	if code, _ := runToEnd(t, receiver); code != 1 {
		t.Errorf("receiver without --config: exit %d, want 1", code)
	}

	t1, err := shm.Create(shm1, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Close()
	t2, err := shm.Create(shm2, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Close()
	t1.Write(shm.SlotSend, slots.Send{State: wire.StateNormal, Held: wire.GroupOf(1)}.Record())

	rx := start(t, receiver, "--config", conf2)
	tx := start(t, sender, "--config", conf1)
	waitUntil(t, 10*time.Second, "node 1's heartbeats in node 2's table", func() bool {
		r, _ := t2.Read(shm.SlotPeer)
		p := slots.ParsePeer(r)
		return p.Accepted >= 3 && p.Last.State == wire.StateNormal && p.Last.Epoch == 3
	})

	if code, out := runToEnd(t, sender, "--config", conf1); code != 1 || !strings.Contains(out, "another sender is running") {
		t.Errorf("second sender: exit %d, %q; want 1 and \"another sender is running\"", code, out)
	}
	for _, p := range []*proc{tx, rx} {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.wait(5 * time.Second); err != nil {
			t.Errorf("%s after SIGTERM: %v\n%s", p.cmd.Path, err, p.out.String())
		}
	}
	for _, c := range []struct {
		tbl  *shm.Table
		slot int
	}{{t1, shm.SlotSender}, {t2, shm.SlotReceiver}} {
		r, _ := c.tbl.Read(c.slot)
		if d := slots.ParseDaemon(r); d.Phase != slots.PhaseStopping || d.Counter == 0 {
			t.Errorf("slot %d after a stop: got phase %d counter %d, want stopping, bumped", c.slot, d.Phase, d.Counter)
		}
	}
	t.Logf("sender:\n%s\nreceiver:\n%s", tx.out, rx.out)
	if out := tx.out.String(); !strings.Contains(out, `"proc":"sender"`) || !strings.Contains(out, `"node":"node1"`) {
		t.Errorf("sender log lacks its fields:\n%s", out)
	}
}

type proc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
}

func start(t *testing.T, path string, args ...string) *proc {
	p := &proc{cmd: exec.Command(path, args...), out: new(bytes.Buffer), done: make(chan error, 1)}
	p.cmd.Stderr, p.cmd.Stdout = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	pid := p.cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

func (p *proc) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(d):
		return errors.New("did not exit")
	}
}

func runToEnd(t *testing.T, path string, args ...string) (int, string) {
	p := start(t, path, args...)
	err := p.wait(10 * time.Second)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), p.out.String()
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return 0, p.out.String()
}

func freePort(t *testing.T) int {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}
