package shm

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// The test binary stands in for other processes of the node (os/exec's
// helper-command pattern): with HAD_SHM_HELPER set it runs helperMain
// instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("HAD_SHM_HELPER"); mode != "" {
		os.Exit(helperMain(mode, os.Getenv("HAD_SHM_PATH"), os.Getenv("HAD_SHM_ARG")))
	}
	os.Exit(m.Run())
}

func helperMain(mode, path, arg string) int {
	tb, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch mode {
	case "writer": // write SlotHad1 in a tight loop until killed
		for v := uint64(1); ; v++ {
			tb.Write(SlotHad1, fill(v))
		}
	case "wait": // print the bell's address, wait for it to ring
		seen, _ := strconv.ParseUint(arg, 10, 32)
		fmt.Printf("%#x\n", uintptr(unsafe.Pointer(tb.bell(BellHad2))))
		awaitRing(tb, BellHad2, uint32(seen), 10*time.Second)
		if tb.BellValue(BellHad2) == uint32(seen) {
			return 3
		}
		fmt.Println("woke")
		return 0
	case "lock": // hold role arg's lock until stdin closes or killed
		role, _ := strconv.Atoi(arg)
		if _, err := tb.Lock(role); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		return 0
	}
	return 2
}

var pathCounter atomic.Int64

// tablePath is a unique path in /dev/shm (where had keeps its table),
// removed at the end of the test.
func tablePath(t testing.TB) string {
	dir := "/dev/shm"
	if _, err := os.Stat(dir); err != nil {
		dir = t.TempDir()
	}
	p := filepath.Join(dir, fmt.Sprintf("had-shm-test-%d-%d", os.Getpid(), pathCounter.Add(1)))
	t.Cleanup(func() { Remove(p) })
	return p
}

func createTable(t testing.TB) *Table {
	t.Helper()
	tb, err := Create(tablePath(t), 1)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { tb.Close() })
	return tb
}

// helper is a started helper process; its first stdout line is in line.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startHelper(t *testing.T, mode, path, arg string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HAD_SHM_HELPER="+mode, "HAD_SHM_PATH="+path, "HAD_SHM_ARG="+arg,
		"GORACE=atexit_sleep_ms=0") // -race children otherwise linger 1 s at exit
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", mode, err)
	}
	h := &helper{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() { h.kill() })
	return h
}

func (h *helper) line(t *testing.T) string {
	t.Helper()
	s, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("read helper output: %v", err)
	}
	return strings.TrimSpace(s)
}

// kill SIGKILLs the helper and reaps it; it is safe to call twice.
func (h *helper) kill() {
	if h.cmd.ProcessState != nil {
		return
	}
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// waitInSyscall waits until a thread of process pid is blocked in system
// call nr with the given first two arguments, read from
// /proc/pid/task/*/syscall, so a test knows a waiter is parked before it
// wakes it, without sleeping.
func waitInSyscall(t *testing.T, pid int, nr, arg0, arg1 uintptr) {
	t.Helper()
	prefix := fmt.Sprintf("%d %#x %#x ", nr, arg0, arg1)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		for _, f := range tasks {
			if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(string(b), prefix) {
				return
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatalf("no thread of pid %d in syscall %q within 10s", pid, prefix)
}
