package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
)

// netnsDir is where `ip netns` keeps its named namespaces.
const netnsDir = "/run/netns"

// cmdTimeout bounds every short command the bed runs (ip, bridge, tc, Exec).
const cmdTimeout = 30 * time.Second

// run runs a short command and returns its combined output.
func run(name string, args ...string) (string, error) {
	return runIn(nil, name, args...)
}

// runIn is run with stdin.
func runIn(stdin []byte, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("run %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// ipBatch runs `ip` commands, one per line, in namespace ns ("" = ours),
// with one exec instead of one per command; it stops at the first failure.
func ipBatch(ns string, cmds []string) error {
	args := []string{"-batch", "-"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	_, err := runIn([]byte(strings.Join(cmds, "\n")+"\n"), "ip", args...)
	return err
}

// nsExists reports whether the named namespace exists.
func nsExists(ns string) bool {
	_, err := os.Stat(filepath.Join(netnsDir, ns))
	return err == nil
}

// nsPIDs lists the processes whose network namespace is ns, like
// `ip netns pids` but without an exec, so PowerOff is quick: it compares
// /proc/PID/ns/net with the namespace's bind mount. Our own process is left
// out: one of its threads may be inside ns for a moment (InNS), and the bed
// must never kill its owner.
func nsPIDs(ns string) ([]int, error) {
	var want syscall.Stat_t
	if err := syscall.Stat(filepath.Join(netnsDir, ns), &want); err != nil {
		return nil, fmt.Errorf("stat namespace %s: %w", ns, err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st syscall.Stat_t
		// Fails for processes that just exited and for zombies (their
		// namespaces are already released): neither is in ns any more.
		if syscall.Stat("/proc/"+e.Name()+"/ns/net", &st) != nil {
			continue
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killTimeout bounds how long killNS keeps killing: a supervisor inside the
// namespace may respawn children for a round or two, not for seconds.
const killTimeout = 5 * time.Second

// killNS sends SIGKILL to every process in ns until none is left.
func killNS(ns string) error {
	var left []int
	err := poll(killTimeout, func() (bool, error) {
		pids, err := nsPIDs(ns)
		if err != nil {
			return false, err
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL) // ESRCH: gone already, fine
		}
		left = pids
		return len(pids) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("kill processes in %s (left %v): %w", ns, left, err)
	}
	return nil
}

// freezeNS stops (SIGSTOP) every process in ns, again and again until a
// pass finds no process it had not stopped yet: a process started while
// the others were being stopped is caught by the next pass, and stopped
// processes start nothing.
func freezeNS(ns string) error {
	stopped := map[int]bool{}
	return poll(killTimeout, func() (bool, error) {
		pids, err := nsPIDs(ns)
		if err != nil {
			return false, err
		}
		fresh := false
		for _, pid := range pids {
			if !stopped[pid] {
				_ = syscall.Kill(pid, syscall.SIGSTOP)
				stopped[pid], fresh = true, true
			}
		}
		return !fresh, nil
	})
}

// staleName matches the namespaces of a bed: hadtb-PID-SEQ-{sw,a,b,c}.
var staleName = regexp.MustCompile(`^` + namePrefix + `(\d+)-\d+-(sw|a|b|c)$`)

// sweep removes the namespaces of beds whose creating process is gone (a test
// binary killed by a timeout never runs its cleanups), killing the processes
// left inside them. Beds of live processes are never touched. Best effort.
func sweep() {
	ents, err := os.ReadDir(netnsDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		m := staleName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		if killNS(e.Name()) == nil {
			_, _ = run("ip", "netns", "del", e.Name())
		}
	}
	// Run directories on tmpfs of beds whose process is gone.
	runs, _ := filepath.Glob(filepath.Join(shmDir, namePrefix+"*-run-*"))
	for _, d := range runs {
		m := staleRun.FindStringSubmatch(filepath.Base(d))
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); pid != os.Getpid() && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// staleRun matches a bed's run directory: hadtb-PID-SEQ-run-RANDOM.
var staleRun = regexp.MustCompile(`^` + namePrefix + `(\d+)-\d+-run-\d+$`)

// pollEvery is how often poll checks its condition: well under the times
// the tests measure, well above the cost of one check.
const pollEvery = 2 * time.Millisecond

// poll calls cond until it returns true or an error, or until timeout has
// passed (ErrTimeout).
func poll(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v", ErrTimeout, timeout)
		}
		time.Sleep(pollEvery)
	}
}

// InNS runs fn on an OS thread switched into node's namespace (A, B, C or
// "SW"). Sockets created by fn stay in that namespace and can be used from
// any goroutine afterwards; that is how the prober and HTTPGet act as the
// client. fn must not start goroutines that expect to be in the namespace.
func (b *Bed) InNS(node string, fn func() error) error {
	ns, err := b.nsOf(node)
	if err != nil {
		return err
	}
	target, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", ns, err)
	}
	defer target.Close()

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get own namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			// Stay locked: the goroutine ends locked, so Go throws the
			// thread away instead of reusing it in the wrong namespace.
			errc <- errors.Join(ferr, fmt.Errorf("leave namespace %s: %w", ns, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// PIDs lists the processes in node's namespace (A, B, C or "SW").
func (b *Bed) PIDs(node string) ([]int, error) {
	ns, err := b.nsOf(node)
	if err != nil {
		return nil, err
	}
	pids, err := nsPIDs(ns)
	slices.Sort(pids)
	return pids, err
}

// nsOf is the namespace of node A, B, C or "SW".
func (b *Bed) nsOf(node string) (string, error) {
	if node == "SW" {
		return b.sw.ns, nil
	}
	n, err := b.node(node)
	if err != nil {
		return "", err
	}
	return n.ns, nil
}
