package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Proc is a process the bed started inside a node's namespace.
type Proc struct {
	Node string // A, B, C or SW
	Name string // as given to Start; names the log file
	PID  int

	proc *os.Process
	done chan struct{}
	err  error // exit status, set before done is closed
}

// Start runs argv inside node's namespace (through `ip netns exec`, which
// execs argv in place, so PID is argv's own PID) with stdout and stderr
// appended to LogPath(node, name). env is added to the bed's environment.
// The process gets its own process group, so a Ctrl-C meant for the demo
// does not reach it. It fails with ErrPoweredOff on a powered-off node.
func (b *Bed) Start(node, name string, argv []string, env []string) (*Proc, error) {
	ns, err := b.nsOf(node)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("start %s in %s: empty argv", name, node)
	}
	// Hold the lock across the fork so that PowerOff, which takes it too,
	// sees this process in b.procs: until `ip` has entered the namespace the
	// process is not yet visible there.
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.off[node] {
		return nil, fmt.Errorf("start %s in %s: %w", name, node, ErrPoweredOff)
	}
	logPath := b.LogPath(node, name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("make log dir: %w", err)
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer f.Close() // the child has its own copy
	fmt.Fprintf(f, "### testbed %s: start in %s: %s\n", time.Now().Format(time.RFC3339Nano), node, strings.Join(argv, " "))

	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s in %s: %w", name, node, err)
	}
	p := &Proc{Node: node, Name: name, PID: cmd.Process.Pid, proc: cmd.Process, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	// Forget the ones that are gone, so that long benchmark runs with many
	// restarts do not pile up.
	b.procs = slices.DeleteFunc(b.procs, func(q *Proc) bool { return isDone(q) })
	b.procs = append(b.procs, p)
	return p, nil
}

func isDone(p *Proc) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the exit status once Done is closed (nil for exit 0).
func (p *Proc) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// status, or ErrTimeout.
func (p *Proc) Wait(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		return fmt.Errorf("wait for %s in %s (pid %d): %w after %v", p.Name, p.Node, p.PID, ErrTimeout, timeout)
	}
}

// Signal sends sig; a process that already exited is not an error.
func (p *Proc) Signal(sig os.Signal) error {
	if err := p.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s in %s: %w", p.Name, p.Node, err)
	}
	return nil
}

// Kill sends SIGKILL and waits until the process is reaped.
func (p *Proc) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	if err := p.Wait(killTimeout); errors.Is(err, ErrTimeout) {
		return err
	}
	return nil
}

// Stop sends SIGTERM, waits up to grace, then kills. It returns the exit
// status when the process stopped by itself.
func (p *Proc) Stop(grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	err := p.Wait(grace)
	if errors.Is(err, ErrTimeout) {
		return p.Kill()
	}
	return err
}

// Exec runs a short command inside node's namespace and returns its combined
// output; the error carries the output too.
func (b *Bed) Exec(node string, argv ...string) (string, error) {
	ns, err := b.nsOf(node)
	if err != nil {
		return "", err
	}
	if b.isOff(node) {
		return "", fmt.Errorf("exec in %s: %w", node, ErrPoweredOff)
	}
	return run("ip", append([]string{"netns", "exec", ns}, argv...)...)
}

func (b *Bed) isOff(node string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.off[node]
}

// PowerOff cuts a node's power: every process in its namespace gets SIGKILL
// (repeated until none is left, bounded by 5 s), then its links go down, so
// the switch and, over the direct link, the peer lose carrier. Like a reboot,
// it also drops every global address but the node's own (a VIP does not
// survive a power cycle) and empties RunDir. Start and Exec fail until
// PowerOn. Note the time before calling it: that is the instant of the
// failure.
func (b *Bed) PowerOff(node string) error {
	n, err := b.node(node)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.off[node] = true
	var mine []*Proc
	for _, p := range b.procs {
		if p.Node == node {
			mine = append(mine, p)
		}
	}
	b.mu.Unlock()
	// A power cut is instantaneous: the links go first, then every process
	// is frozen before any is killed, so that no supervisor restarts a
	// killed process that then sends one more heartbeat (which would make
	// the peer's detection start late and failovers look slower).
	down := []string{"link set eth0 down"}
	if b.hasDirect(node) {
		down = append(down, "link set eth1 down")
	}
	if err := ipBatch(n.ns, down); err != nil {
		return fmt.Errorf("power off %s: %w", node, err)
	}
	// Processes of ours may not have entered the namespace yet.
	for _, p := range mine {
		_ = p.proc.Signal(syscall.SIGSTOP)
	}
	if err := freezeNS(n.ns); err != nil {
		return fmt.Errorf("power off %s: %w", node, err)
	}
	for _, p := range mine {
		_ = p.proc.Signal(syscall.SIGKILL)
	}
	if err := killNS(n.ns); err != nil {
		return fmt.Errorf("power off %s: %w", node, err)
	}
	cmds := []string{
		"addr flush dev eth0 scope global",
		fmt.Sprintf("addr add %s/24 dev eth0", b.Addr(node)),
	}
	if b.hasDirect(node) {
		cmds = append(cmds,
			"addr flush dev eth1 scope global",
			fmt.Sprintf("addr add %s/24 dev eth1", b.DirectAddr(node)))
	}
	if err := ipBatch(n.ns, cmds); err != nil {
		return fmt.Errorf("power off %s: %w", node, err)
	}
	if err := os.RemoveAll(b.RunDir(node)); err != nil {
		return fmt.Errorf("power off %s: empty run dir: %w", node, err)
	}
	if err := os.MkdirAll(b.RunDir(node), 0o755); err != nil {
		return fmt.Errorf("power off %s: make run dir: %w", node, err)
	}
	return nil
}

// PowerOn sets the node's links up again. It starts nothing: the caller
// starts had1 (or whatever the node boots) with Start.
func (b *Bed) PowerOn(node string) error {
	n, err := b.node(node)
	if err != nil {
		return err
	}
	cmds := []string{"link set eth0 up"}
	if b.hasDirect(node) {
		cmds = append(cmds, "link set eth1 up")
	}
	if err := ipBatch(n.ns, cmds); err != nil {
		return fmt.Errorf("power on %s: %w", node, err)
	}
	b.mu.Lock()
	b.off[node] = false
	b.mu.Unlock()
	return nil
}

// hasDirect reports whether node has the direct link eth1.
func (b *Bed) hasDirect(node string) bool {
	return b.opts.DirectLink && (node == "A" || node == "B")
}
