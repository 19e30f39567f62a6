package had1

import (
	"context"
	"io"
	"path/filepath"
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
