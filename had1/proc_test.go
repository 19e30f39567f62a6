package had1

import (
	"os"

	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/daemon"
)

func TestSpawnSignalAndAdopt(t *testing.T) {
	p, err := Spawn([]string{"/bin/sleep", "30"}, nil, os.Stdout, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start, err := daemon.StartTime(p.PID)
	if err != nil || start != p.Start {
		t.Fatalf("StartTime(%d) = %d, %v; Spawn recorded %d", p.PID, start, err, p.Start)
	}
	a, err := Adopt(p.PID, p.Start)
	if err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	defer a.Close()
	if _, err := Adopt(p.PID, p.Start+1); err == nil {
		t.Fatal("Adopt with the wrong start time succeeded")
	}
	if err := a.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	for _, q := range []*Proc{p, a} {
		select {
		case <-q.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("process %d did not end after SIGTERM", q.PID)
		}
	}
	if err := p.Kill(); err != nil {
		t.Errorf("Kill after exit: %v", err)
	}
}
