package daemon

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm/slots"
)

// Realtime scheduling is a property of the whole process, so its state is
// the package's: set once by SetRealtime from main, kept by KeepRealtime
// from the daemon's liveness bumps, read by SchedWord for the slot.
//
// The policy is set with SCHED_FLAG_RESET_ON_FORK: what a daemon starts (a
// table's service, an agent, had2 from had1) never inherits it. The flag
// also resets the threads the Go runtime creates later (clone resets them
// as it would a child, measured), and a policy set on one thread never
// reaches the others, so every thread in /proc/self/task is set, and new
// ones are caught at the next liveness bump.
//
// That is not enough on its own: the runtime makes a thread when a
// goroutine blocks in a system call (a log write waiting for a file's
// inode lock) and no idle thread is left, and with one P the daemon's loop
// may then run on that new, time-shared thread, which a saturated machine
// starves before the next bump can fix it (a receiver hung 1.5 s that
// way under stress-ng, measured). So SetRealtime first makes the runtime
// create spare threads, which it keeps idle and reuses, and sets them all.
var rt struct {
	mu      sync.Mutex
	plan    rtPlan
	known   map[int]bool // threads already at the policy
	started bool         // the first pass is done: later threads are news
	active  atomic.Bool  // a policy is being kept
	made    int          // threads the runtime had at the last pass
	skipped int          // calls without a pass since the last one
	log     zerolog.Logger
}

// schedWord is what the daemon runs with, for its slot; locked says
// mlockall is in force.
var (
	schedWord atomic.Uint64
	locked    atomic.Bool
)

func init() { schedWord.Store(slots.Sched{}.Word()) }

// SchedWord is this process's scheduling as its slot reports it (the
// ExtraSched word).
func SchedWord() uint64 { return schedWord.Load() }

// SetRealtime applies the [realtime] settings to this process when role
// (had1, had2, sender, receiver, admin) is listed, and returns what it got.
// Being refused (no CAP_SYS_NICE or CAP_IPC_LOCK, a container, an RT
// cgroup without runtime) is not an error: the daemon runs time-shared,
// logs a warning, and its slot says "realtime denied".
func SetRealtime(cfg config.Realtime, role string, log zerolog.Logger) slots.Sched {
	plan := planRealtime(cfg, role)
	var got slots.Sched
	if plan.policy == noPolicy && rt.active.Load() {
		// A reload turned it off for a process that keeps running.
		rt.active.Store(false)
		rt.mu.Lock()
		rt.plan, rt.known = rtPlan{policy: schedOther}, map[int]bool{}
		if err := applyThreads(); err != nil {
			log.Warn().Err(err).Msg("realtime scheduling not turned off")
		}
		rt.mu.Unlock()
	}
	if plan.mcl == 0 && locked.Load() {
		if err := unix.Munlockall(); err == nil {
			locked.Store(false)
		}
	}
	if plan.mcl != 0 {
		if err := unix.Mlockall(plan.mcl); err != nil {
			got.Denied = true
			log.Warn().Err(err).Str("lock_memory", string(cfg.LockMemory)).Msg("memory not locked: running unlocked")
		} else {
			got.Lock = plan.want.Lock
			locked.Store(true)
		}
	}
	if plan.policy != noPolicy {
		spareThreads(spares)
		rt.mu.Lock()
		rt.plan, rt.known, rt.log, rt.started = plan, map[int]bool{}, log, false
		rt.made = threadsMade.Count()
		err := applyThreads()
		rt.mu.Unlock()
		if err != nil {
			got.Denied = true
			log.Warn().Err(err).Str("policy", string(cfg.Policy)).Int("priority", plan.priority).
				Msg("realtime scheduling not permitted: running time-shared")
		} else {
			got.Policy, got.Priority = plan.want.Policy, plan.want.Priority
			rt.active.Store(true)
		}
	}
	schedWord.Store(got.Word())
	if plan.policy != noPolicy || plan.mcl != 0 {
		log.Info().Str("sched", got.String()).Msg("scheduling set")
	}
	return got
}

// KeepRealtime puts the threads the Go runtime made since the last call
// at the realtime policy. It does nothing unless SetRealtime set a policy
// and the runtime made a thread since the last pass (the runtime's own
// count, no system call); a pass reads /proc/self/task. Daemons call it
// from their liveness bumps, so no extra wake-up is spent on it.
func KeepRealtime() {
	if !rt.active.Load() {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	made := threadsMade.Count()
	if made == rt.made && rt.skipped < fullPassEvery {
		rt.skipped++
		return
	}
	rt.made, rt.skipped = made, 0 // read before the pass: a thread made during it is seen next time
	if err := applyThreads(); err != nil {
		rt.log.Warn().Err(err).Msg("new thread not set to realtime")
	}
}

// threadsMade counts the runtime's threads: a change sends KeepRealtime to
// /proc/self/task. The runtime ends a thread only with a goroutine that
// exits locked to it, so the count could come back to the same number
// with a new thread in it; every fullPassEvery calls a pass is made anyway.
var threadsMade = pprof.Lookup("threadcreate")

const fullPassEvery = 16

// spares is how many idle threads SetRealtime makes the runtime keep: a
// daemon with one P has at most a few goroutines in blocking system calls
// at once (the log writer, a netlink or /proc read).
const spares = 4

// spareThreads makes the runtime create n more threads and keep them idle:
// each of n goroutines locks itself to a thread and blocks, so the runtime
// needs a new thread for everything else; unlocked, the threads go back to
// its idle list, where it looks first when it needs one (it never ends
// them).
func spareThreads(n int) {
	var started, release sync.WaitGroup
	release.Add(1)
	for range n {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			release.Wait()
			runtime.UnlockOSThread()
		}()
	}
	started.Wait()
	release.Done()
}

// applyThreads sets every thread not yet known to the plan's policy. The
// caller holds rt.mu.
func applyThreads() error {
	tids, err := threads()
	if err != nil {
		return err
	}
	defer func() { rt.started = true }()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: uint32(rt.plan.policy),
		Priority: uint32(rt.plan.priority), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	alive := make(map[int]bool, len(tids))
	var errs []error
	for _, tid := range tids {
		alive[tid] = true
		if rt.known[tid] {
			continue
		}
		switch err := schedSetAttr(tid, &attr); {
		case err == nil:
			rt.known[tid] = true
			if rt.started {
				rt.log.Debug().Int("tid", tid).Msg("thread made after start set to the realtime policy")
			}
		case errors.Is(err, unix.ESRCH): // it just exited
		default:
			errs = append(errs, fmt.Errorf("set scheduling of thread %d: %w", tid, err))
		}
	}
	for tid := range rt.known {
		if !alive[tid] {
			delete(rt.known, tid) // a later thread may get its number
		}
	}
	return errors.Join(errs...)
}

// threads lists this process's thread ids. The system calls are raw: a
// plain one wakes Go's monitor thread, which may hand the P to a new
// thread while the call runs, and a new thread sent the next bump into
// another pass (had1 made a thread every 250 ms that way, measured).
// Reading /proc does not block.
func threads() ([]int, error) {
	path, err := unix.BytePtrFromString("/proc/self/task")
	if err != nil {
		return nil, err
	}
	dir := unix.AT_FDCWD // a variable: the constant -100 does not convert to uintptr
	fd, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dir), uintptr(unsafe.Pointer(path)),
		uintptr(unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC), 0, 0, 0)
	if errno != 0 {
		return nil, fmt.Errorf("list threads: open /proc/self/task: %w", errno)
	}
	defer unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	var (
		buf   [4096]byte
		names []string
	)
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_GETDENTS64, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if errno != 0 {
			return nil, fmt.Errorf("list threads: read /proc/self/task: %w", errno)
		}
		if n == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	tids := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// schedSetAttr is unix.SchedSetAttr as a raw system call (see threads).
func schedSetAttr(tid int, attr *unix.SchedAttr) error {
	_, _, errno := unix.RawSyscall(unix.SYS_SCHED_SETATTR, uintptr(tid), uintptr(unsafe.Pointer(attr)), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
