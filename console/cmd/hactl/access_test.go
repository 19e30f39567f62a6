package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hadcluster/had/admin/admintest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// argsEnv makes the test binary hactl itself (the os/exec helper-command
// pattern): its value is the arguments, separated by unit separators.
const argsEnv = "HACTL_TEST_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(argsEnv); ok {
		os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// The admin socket lets root and the members of its group in, and nobody
// else: hactl run by a real unprivileged user (nobody, uid 65534) is
// refused at connect with a message that says why, and its takeover never
// reaches had2; the same user with the group, as a supplementary or as its
// primary group, is served.
func TestSocketRefusesOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs hactl as other users, creates a group")
	}
	group := fmt.Sprintf("hadt%d", os.Getpid())
	if out, err := exec.Command("groupadd", group).CombinedOutput(); err != nil {
		t.Skipf("groupadd: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("groupdel", group).Run() })
	g, err := user.LookupGroup(group)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		t.Fatal(err)
	}

	n, tbl := admintest.Node(t, admintest.NodeOptions{Group: group})
	admintest.Fill(tbl, 0)
	h := admintest.StartHad2(t, tbl, wire.GroupOf(1))
	srv := admintest.Start(t, n, tbl, nil)
	// The temporary directories are private (0700): open the way to the
	// socket, so that only the socket's own mode stands between the user
	// and the server.
	for d := filepath.Dir(srv.Socket); len(d) > len(os.TempDir()); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe := copyExecutable(t)

	as := func(cred *syscall.Credential, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), argsEnv+"="+strings.Join(append([]string{"--socket", srv.Socket}, args...), "\x1f"))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("run hactl as uid %d: %v", cred.Uid, err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	adminBefore, _ := tbl.Read(shm.SlotAdmin)
	for _, cmd := range []string{"status", "takeover"} {
		code, out, errOut := as(nobody, cmd)
		if code == 0 || out != "" {
			t.Errorf("%s as nobody: exit %d, output %q: want refused", cmd, code, out)
		}
		t.Logf("%s as nobody: exit %d: %s", cmd, code, strings.TrimSpace(errOut))
		for _, want := range []string{"cannot reach the admin server", "permission denied", "root or in its group"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s as nobody: message %q lacks %q", cmd, errOut, want)
			}
		}
	}
	if r, _ := tbl.Read(shm.SlotAdmin); r != adminBefore || len(h.Commands()) != 0 {
		t.Errorf("nobody's takeover reached the table: admin slot %+v, had2 got %v", slots.ParseAdmin(r), h.Commands())
	}
	for _, cred := range []*syscall.Credential{
		{Uid: 65534, Gid: 65534, Groups: []uint32{uint32(gid)}}, // a member
		{Uid: 65534, Gid: uint32(gid), Groups: []uint32{}},      // its primary group
	} {
		code, out, errOut := as(cred, "status")
		if code != 0 || !strings.Contains(out, "pair") {
			t.Errorf("status as uid %d gid %d groups %v: exit %d, %q %q; want served", cred.Uid, cred.Gid, cred.Groups, code, out, errOut)
		}
	}
}

// copyExecutable copies the test binary where any user may run it.
func copyExecutable(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "hactl-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exe := filepath.Join(dir, "hactl.test")
	dst, err := os.OpenFile(exe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return exe
}
