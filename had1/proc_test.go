package had1

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestSpawnSignalAndAdopt(t *testing.T) {
	p, err := Spawn([]string{"/bin/sleep", "30"}, os.Stdout, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start, err := StartTime(p.PID)
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

func TestParseStartTime(t *testing.T) {
	stat := []byte("1234 (we (ird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 987654 10000 200")
	got, err := parseStartTime(stat)
	if err != nil || got != 987654 {
		t.Fatalf("parseStartTime = %d, %v; want 987654", got, err)
	}
	if _, err := parseStartTime([]byte("garbage")); err == nil {
		t.Fatal("parseStartTime accepted garbage")
	}
}
