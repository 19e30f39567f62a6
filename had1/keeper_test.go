package had1

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// A kept process that writes garbage into its slot is killed and replaced,
// and a Forever role is retried past MaxRestarts instead of failing.
func TestKeeperGarbageAndForever(t *testing.T) {
	tbl, err := shm.Create(filepath.Join(t.TempDir(), "table"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	_, slot := slots.AgentSlots(0)
	started := make(chan *Proc, 16)
	k := &Keeper{
		Role: Role{Name: "agent x", Slot: slot, Argv: []string{"/bin/sleep", "30"}, AnyWriter: true,
			Valid: slots.ValidAgentResult, Forever: true},
		Table:  tbl,
		Policy: Policy{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxRestarts: 1, Window: time.Minute, Stable: time.Hour},
		Hang:   time.Hour, Check: 5 * time.Millisecond, Log: zerolog.New(io.Discard),
		Stdout: io.Discard, Stderr: io.Discard,
		Started: func(p *Proc, _ int) { started <- p },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	var last *Proc
	for i := 0; i < 3; i++ { // past MaxRestarts: a Forever role keeps going
		select {
		case p := <-started:
			if last != nil && p.PID == last.PID {
				t.Fatalf("round %d: the same process %d again", i, p.PID)
			}
			last = p
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no process started", i)
		}
		// Any writer may write the slot (AnyWriter): this test process does.
		tbl.Write(slot, shm.Record{Type: shm.TypeAgent, Value: 42}) // garbage value
		select {
		case <-last.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: the process that wrote garbage was not killed", i)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("keeper stopped with %v: a Forever role must not give up", err)
	default:
	}
}

// A Restart stops the running process with the change's signal, starts the
// new argv at once and does not count as a restart; Retire ends the
// process and the keeper.
func TestKeeperRestartAndRetire(t *testing.T) {
	tbl, err := shm.Create(filepath.Join(t.TempDir(), "table"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	_, slot := slots.AgentSlots(0)
	type start struct {
		p        *Proc
		restarts int
	}
	started := make(chan start, 16)
	k := &Keeper{
		Role:   Role{Name: "agent x", Slot: slot, Argv: []string{"/bin/sleep", "30"}, AnyWriter: true, Forever: true},
		Table:  tbl,
		Policy: Policy{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxRestarts: 5, Window: time.Minute, Stable: time.Hour},
		Hang:   time.Hour, Check: 5 * time.Millisecond, Log: zerolog.New(io.Discard),
		Stdout: io.Discard, Stderr: io.Discard,
		Started: func(p *Proc, n int) { started <- start{p, n} },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	first := <-started

	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	p, err := k.Restart(rctx, Change{Role: Role{Name: "agent x", Slot: slot, Argv: []string{"/bin/sleep", "31"}, AnyWriter: true, Forever: true},
		Stop: syscall.SIGKILL, Grace: time.Second})
	if err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if !first.p.Exited() {
		t.Fatal("the old process still runs after Restart returned")
	}
	if p.PID == first.p.PID {
		t.Fatalf("Restart returned the old process %d", p.PID)
	}
	second := <-started
	if second.p != p || second.restarts != 0 {
		t.Errorf("Started after Restart: process %d with %d restarts, want %d with 0 (a reload is not a failure)", second.p.PID, second.restarts, p.PID)
	}
	// The child may not have reached exec yet: its cmdline is empty until then.
	var cmdline []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cmdline, err = os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID)); err != nil || len(cmdline) > 0 {
			break
		}
	}
	if err != nil || !strings.Contains(string(cmdline), "31") {
		t.Errorf("the new process runs %q (%v), want the changed argv", cmdline, err)
	}

	if err := k.Retire(rctx, syscall.SIGTERM, time.Second); err != nil {
		t.Fatalf("Retire: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Retire: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still running after Retire")
	}
	if !p.Exited() {
		t.Error("the retired process still runs")
	}
	short, scancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer scancel()
	if _, err := k.Restart(short, Change{}); err == nil {
		t.Error("Restart of a retired keeper succeeded")
	}
}

func TestAgentCheck(t *testing.T) {
	const grid = 500 * time.Millisecond
	tests := []struct{ hang, grid, want time.Duration }{
		{15 * time.Second, grid, 3500 * time.Millisecond}, // 3.75 s, on the grid
		{4 * time.Second, grid, time.Second},
		{time.Second, grid, 250 * time.Millisecond}, // under the grid: as it is
		{100 * time.Millisecond, grid, 50 * time.Millisecond},
		{15 * time.Second, 0, 3750 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := agentCheck(tt.hang, tt.grid); got != tt.want {
			t.Errorf("agentCheck(%v, %v) = %v, want %v", tt.hang, tt.grid, got, tt.want)
		}
	}
}
