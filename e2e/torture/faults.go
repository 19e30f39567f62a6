package torture

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/e2e/cluster"
)

// rig carries the faults out on a cluster. It powers nodes off and on for
// the plan and for the fence device, and plays init: like systemd's
// Restart=always, it starts had1 again on a powered node that has none
// (had2 normally does that itself, within milliseconds).
type rig struct {
	c   *cluster.Cluster
	log func(format string, args ...any)

	mu     sync.Mutex
	off    map[string]bool      // powered off
	power  []PowerEvent         // every power change
	fences []time.Duration      // how long each fencing took
	noHad1 map[string]time.Time // since when a powered node has had no had1
	inits  int                  // had1 starts by the init stand-in
	nodeMu map[string]*sync.Mutex

	rng    *rand.Rand               // the clock offsets of the boots, the relays' draws
	clock  map[string]time.Duration // each node's monotonic clock offset this boot
	relays []*relay                 // while the LAN is impaired
	later  sync.WaitGroup           // the fence device's pending reboots
	closed bool
}

func newRig(c *cluster.Cluster, seed uint64, log func(string, ...any)) *rig {
	return &rig{c: c, log: log, off: map[string]bool{}, noHad1: map[string]time.Time{},
		nodeMu: map[string]*sync.Mutex{"A": {}, "B": {}},
		rng:    rand.New(rand.NewPCG(seed, 0x636c6f636b)), clock: map[string]time.Duration{}}
}

// maxUptime bounds the monotonic clock offsets of the boots.
const maxUptime = 30 * 24 * time.Hour

// start boots had1 on node with a fresh monotonic clock: each boot runs
// in a time namespace with a random offset, so the two nodes' monotonic
// clocks disagree by up to a month and jump at every reboot.
func (r *rig) start(node string) error {
	r.mu.Lock()
	offset := time.Duration(r.rng.Int64N(int64(maxUptime)))
	r.clock[node] = offset
	r.mu.Unlock()
	return r.c.StartClock(node, offset)
}

// powerOff cuts node's power; the event is recorded at the instant of the cut.
func (r *rig) powerOff(node string) error {
	_, err := r.cut(node)
	return err
}

// cut is powerOff that also tells whether node was off already, decided
// under the node's lock: checked apart, a boot of the plan could slip in
// between, and the fence device would power the booted node off for good
// (seed 9043).
func (r *rig) cut(node string) (wasOff bool, err error) {
	r.nodeMu[node].Lock()
	defer r.nodeMu[node].Unlock()
	r.mu.Lock()
	was := r.off[node]
	r.off[node] = true
	if !was {
		r.power = append(r.power, PowerEvent{At: time.Now(), Node: node, On: false})
	}
	r.mu.Unlock()
	if err := r.c.Bed.PowerOff(node); err != nil {
		return was, fmt.Errorf("power off %s: %w", node, err)
	}
	return was, nil
}

// boot powers node on and starts had1 there, unless it is on already.
func (r *rig) boot(node string) error {
	r.nodeMu[node].Lock()
	defer r.nodeMu[node].Unlock()
	r.mu.Lock()
	off := r.off[node]
	r.mu.Unlock()
	if !off {
		return nil
	}
	if err := r.c.Bed.PowerOn(node); err != nil {
		return fmt.Errorf("power on %s: %w", node, err)
	}
	r.mu.Lock()
	r.off[node] = false
	r.power = append(r.power, PowerEvent{At: time.Now(), Node: node, On: true})
	delete(r.noHad1, node)
	r.mu.Unlock()
	if err := r.start(node); err != nil {
		return fmt.Errorf("start had1 on %s: %w", node, err)
	}
	return nil
}

func (r *rig) isOff(node string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.off[node]
}

// fenceReboot is how long a node the fence device reset stays off before
// it boots again (a quick machine; the plan may boot it earlier).
const fenceReboot = time.Second

// fence is the fence device, a reset: it powers node off and boots it
// fenceReboot later. A node the plan has powered off already stays off:
// the plan boots it.
func (r *rig) fence(node string) error {
	began := time.Now()
	wasOff, err := r.cut(node)
	took := time.Since(began)
	r.mu.Lock()
	r.fences = append(r.fences, took)
	r.mu.Unlock()
	r.log("    fence device: %s powered off in %v (err %v)", node, took.Round(time.Microsecond), err)
	if err == nil && !wasOff {
		r.later.Add(1)
		time.AfterFunc(fenceReboot, func() {
			defer r.later.Done()
			r.mu.Lock()
			closed := r.closed
			r.mu.Unlock()
			if closed {
				return
			}
			if err := r.boot(node); err != nil {
				r.log("    fence device: boot %s: %v", node, err)
			}
		})
	}
	return err
}

// close stops the rig's own doings (the fence device's reboots) before
// the bed goes.
func (r *rig) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.later.Wait()
}

// initGrace is how long a powered node may be without had1 before the
// init stand-in starts one: well past had2's own restart of had1.
const initGrace = time.Second

// playInit checks every node once; run it periodically.
func (r *rig) playInit() {
	for _, node := range cluster.Nodes {
		r.nodeMu[node].Lock()
		r.mu.Lock()
		off := r.off[node]
		r.mu.Unlock()
		if off {
			r.nodeMu[node].Unlock()
			continue
		}
		pids, err := r.pidsOf(node, "had1")
		now := time.Now()
		r.mu.Lock()
		switch since, seen := r.noHad1[node]; {
		case err != nil || len(pids) > 0:
			delete(r.noHad1, node)
		case !seen:
			r.noHad1[node] = now
		case now.Sub(since) >= initGrace:
			delete(r.noHad1, node)
			r.inits++
			offset := r.clock[node]
			r.mu.Unlock()
			r.log("    init: no had1 on %s for %v, starting it", node, initGrace)
			// In the node's clock: the processes it adopts keep theirs.
			if err := r.c.StartClock(node, offset); err != nil {
				r.log("    init: start had1 on %s: %v", node, err)
			}
			r.mu.Lock()
		}
		r.mu.Unlock()
		r.nodeMu[node].Unlock()
	}
}

// progNames are the process names (comm) of the roles.
var progNames = map[string]string{"had1": "had1", "had2": "had2", "sender": "had-sender", "receiver": "had-receiver",
	"admin": "had-admin", "agent": "had-agent"}

// proc is a process found by name, with its start time against PID reuse.
type proc struct {
	pid   int
	start uint64
}

// pidsOf lists node's processes of role, running or stopped, not zombies.
func (r *rig) pidsOf(node, role string) ([]proc, error) {
	pids, err := r.c.Bed.PIDs(node)
	if err != nil {
		return nil, err
	}
	var out []proc
	for _, pid := range pids {
		comm, state, start, ok := procStat(pid)
		if ok && comm == progNames[role] && state != 'Z' && state != 'X' {
			out = append(out, proc{pid: pid, start: start})
		}
	}
	return out, nil
}

// procStat reads a process's name, state and start time from /proc.
func procStat(pid int) (comm string, state byte, start uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, 0, false
	}
	s := string(b)
	open, shut := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || shut < open || shut+2 >= len(s) {
		return "", 0, 0, false
	}
	fields := strings.Fields(s[shut+2:])
	if len(fields) < 20 {
		return "", 0, 0, false
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	return s[open+1 : shut], fields[0][0], start, err == nil
}

// signal sends sig to the processes that are still the ones found.
func signal(ps []proc, sig syscall.Signal) {
	for _, p := range ps {
		if _, _, start, ok := procStat(p.pid); ok && start == p.start {
			_ = syscall.Kill(p.pid, sig)
		}
	}
}

// rolesOf finds the processes of roles on node.
func (r *rig) rolesOf(node string, roles []string) ([]proc, error) {
	var all []proc
	for _, role := range roles {
		ps, err := r.pidsOf(node, role)
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	return all, nil
}

// heartbeatPort is the UDP port of the test cluster's heartbeats.
const heartbeatPort = 6940

func (r *rig) nft(node, rules string) error {
	cmd := exec.Command("ip", "netns", "exec", r.c.Bed.NS(node), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft on %s: %w: %s", node, err, out)
	}
	return nil
}

// jumpClock steps the wall clock by d. Only the wall clock moves: had's
// timers, and this harness's, run on the monotonic clock.
func jumpClock(d time.Duration) error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("read the wall clock: %w", err)
	}
	ts = unix.NsecToTimespec(ts.Nano() + int64(d))
	if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("step the wall clock: %w", err)
	}
	return nil
}

// starve runs stress-ng with hogs CPU workers until stop is called (or
// for a little longer than limit, should this process die first).
func starve(hogs int, limit time.Duration) (stop func() error, err error) {
	cmd := exec.Command("stress-ng", "--cpu", strconv.Itoa(hogs), "--timeout", strconv.Itoa(int(limit.Seconds())+1)+"s", "--quiet")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stress-ng: %w", err)
	}
	return func() error {
		// Its own process group: the workers go with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil
	}, nil
}
