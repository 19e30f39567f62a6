package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm/slots"
)

func TestPlanRealtime(t *testing.T) {
	def := config.DefaultRealtime()
	with := func(f func(*config.Realtime)) config.Realtime {
		r := def
		r.Processes = append([]string(nil), def.Processes...)
		f(&r)
		return r
	}
	tests := []struct {
		name string
		rt   config.Realtime
		role string
		want rtPlan
	}{
		{"default, sender", def, "sender",
			rtPlan{policy: schedRR, priority: 20, mcl: mclCurrent | mclFuture | mclOnFault, want: slots.Sched{Policy: slots.SchedRR, Priority: 20, Lock: slots.LockOnFault}}},
		{"default, admin: not listed", def, "admin", rtPlan{policy: noPolicy}},
		{"fifo 99, lock current", with(func(r *config.Realtime) {
			r.Policy, r.Priority, r.LockMemory = config.SchedFIFO, 99, config.LockCurrent
		}), "had2",
			rtPlan{policy: schedFIFO, priority: 99, mcl: mclCurrent, want: slots.Sched{Policy: slots.SchedFIFO, Priority: 99, Lock: slots.LockCurrent}}},
		{"policy off, memory still locked", with(func(r *config.Realtime) { r.Policy, r.LockMemory = config.SchedOff, config.LockAll }), "receiver",
			rtPlan{policy: noPolicy, mcl: mclCurrent | mclFuture, want: slots.Sched{Lock: slots.LockAll}}},
		{"nothing locked", with(func(r *config.Realtime) { r.LockMemory = config.LockOff }), "had1",
			rtPlan{policy: schedRR, priority: 20, want: slots.Sched{Policy: slots.SchedRR, Priority: 20}}},
		{"priority clamped", with(func(r *config.Realtime) { r.Priority = 500 }), "had1",
			rtPlan{policy: schedRR, priority: 99, mcl: mclCurrent | mclFuture | mclOnFault, want: slots.Sched{Policy: slots.SchedRR, Priority: 99, Lock: slots.LockOnFault}}},
		{"empty list", with(func(r *config.Realtime) { r.Processes = nil }), "had2", rtPlan{policy: noPolicy}},
	}
	for _, tt := range tests {
		if got := planRealtime(tt.rt, tt.role); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// helperEnv makes the test binary stand in for a daemon (os/exec's
// helper-command pattern), so that the test process itself never runs
// realtime.
const helperEnv = "HAD_DAEMON_RT_HELPER"

// rtReport is what the helper prints: the policy of every thread after
// SetRealtime, after the runtime made new threads, and of a child.
type rtReport struct {
	Got       uint64
	Before    map[int]int // tid → policy, right after SetRealtime
	After     map[int]int // after new threads and KeepRealtime
	NewThread bool        // the runtime did make a thread meanwhile
	Child     string      // a child's /proc/self/sched policy line
	Locked    string      // VmLck
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		rtHelper()
		return
	}
	os.Exit(m.Run())
}

func rtHelper() {
	runtime.GOMAXPROCS(1)
	got := SetRealtime(config.DefaultRealtime(), "receiver", zerolog.Nop())
	rep := rtReport{Got: got.Word(), Before: policies()}
	// Goroutines locked to threads that exit: the runtime must make new
	// threads for the ones that follow.
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				time.Sleep(10 * time.Millisecond)
			}()
		}
		wg.Wait()
	}
	// One more, kept alive while KeepRealtime runs.
	hold := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		close(ready)
		<-hold
	}()
	<-ready
	for tid := range policies() {
		if _, ok := rep.Before[tid]; !ok {
			rep.NewThread = true
		}
	}
	// The threads that exited may have left the runtime's count where it
	// was, which a daemon's threads never do (see threadsMade): enough
	// calls for the periodic full pass.
	for range fullPassEvery + 1 {
		KeepRealtime()
	}
	rep.After = policies()
	close(hold)
	out, _ := exec.Command("grep", "^policy", "/proc/self/sched").CombinedOutput()
	rep.Child = strings.Join(strings.Fields(string(out)), " ")
	st, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(l, "VmLck:") {
			rep.Locked = strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	json.NewEncoder(os.Stdout).Encode(rep)
}

// policies reads every thread's policy with raw system calls: a plain one
// may have the runtime make a thread meanwhile, one no pass has seen.
func policies() map[int]int {
	tids, _ := threads()
	out := map[int]int{}
	for _, tid := range tids {
		var a unix.SchedAttr
		if _, _, errno := unix.RawSyscall6(unix.SYS_SCHED_GETATTR, uintptr(tid), uintptr(unsafe.Pointer(&a)),
			unix.SizeofSchedAttr, 0, 0, 0); errno == 0 {
			out[tid] = int(a.Policy)
		}
	}
	return out
}

// TestSetRealtime runs a helper process that sets the default realtime
// settings: every thread, the ones the runtime makes later included, runs
// SCHED_RR; a child does not; memory is locked.
func TestSetRealtime(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE)")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	var rep rtReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	got, _ := slots.ParseSched(rep.Got)
	if want := (slots.Sched{Policy: slots.SchedRR, Priority: 20, Lock: slots.LockOnFault}); got != want {
		t.Errorf("SetRealtime: got %v, want %v", got, want)
	}
	check := func(when string, pol map[int]int) {
		if len(pol) == 0 {
			t.Errorf("%s: no threads", when)
		}
		for tid, p := range pol {
			if p != schedRR {
				t.Errorf("%s: thread %d has policy %d, want SCHED_RR (%d)", when, tid, p, schedRR)
			}
		}
	}
	check("after SetRealtime", rep.Before)
	if !rep.NewThread {
		t.Error("the helper made no new thread: the test proves nothing about them")
	}
	check("after new threads and KeepRealtime", rep.After)
	if !strings.HasSuffix(rep.Child, fmt.Sprintf(": %d", schedOther)) {
		t.Errorf("child: got %q, want policy %d (reset on fork)", rep.Child, schedOther)
	}
	if rep.Locked == "" || rep.Locked == "0 kB" {
		t.Errorf("VmLck: got %q, want memory locked", rep.Locked)
	}
}
