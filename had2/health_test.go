package had2

import (
	"testing"

	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func TestEvaluate(t *testing.T) {
	const started = 1000
	node := func(v shm.Value) agentView {
		return agentView{Name: "gw", Critical: true, Value: v, Stamp: 2000, Fresh: true}
	}
	svc := func(v shm.Value, stamp int64) agentView {
		return agentView{Name: "web", Critical: true, Service: true, Value: v, Stamp: stamp, Fresh: true}
	}
	tests := []struct {
		name   string
		agents []agentView
		want   fsm.Health
	}{
		{"none", nil, fsm.Health{OK: true}},
		{"all ok", []agentView{node(shm.OK), svc(shm.OK, 2000)}, fsm.Health{OK: true}},
		{"node error", []agentView{node(shm.Error)}, fsm.Health{OK: false}},
		{"warning only alerts", []agentView{node(shm.Warning), svc(shm.Warning, 2000)}, fsm.Health{OK: true}},
		{"service error", []agentView{svc(shm.Error, 2000)}, fsm.Health{OK: true, ServiceFailed: true}},
		{"service error from before the start", []agentView{svc(shm.Error, 500)}, fsm.Health{OK: true}},
		{"not critical", []agentView{{Name: "x", Value: shm.Error, Stamp: 2000, Fresh: true}}, fsm.Health{OK: true}},
		{"stale error", []agentView{{Name: "gw", Critical: true, Value: shm.Error, Stamp: 2000}}, fsm.Health{OK: true}},
	}
	for _, tt := range tests {
		if got := evaluate(tt.agents, started); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestReadAgents(t *testing.T) {
	m := memTable{}
	id, res := slots.AgentSlots(0)
	m[id] = slots.AgentID{PID: 7, Name: "web", Flags: slots.AgentCritical | slots.AgentService}.Record()
	m[res] = slots.AgentResult{Value: shm.Error, Text: "connection refused"}.Record()
	id2, res2 := slots.AgentSlots(3)
	m[id2] = slots.AgentID{PID: 8, Name: "junk"}.Record()
	m[res2] = shm.Record{Type: shm.TypeAgent, Value: 42} // garbage: not a result
	got := readAgents(m)
	if len(got) != 2 {
		t.Fatalf("got %d agents, want 2: %+v", len(got), got)
	}
	if a := got[0]; a.Name != "web" || !a.Critical || !a.Service || !a.Fresh || a.Value != shm.Error || a.Text != "connection refused" {
		t.Errorf("agent 0: %+v", a)
	}
	if a := got[1]; a.Name != "junk" || a.Fresh {
		t.Errorf("agent with a garbage result: %+v, want not fresh", a)
	}
}

// memTable is a map of records.
type memTable map[int]shm.Record

func (m memTable) Read(slot int) (shm.Record, error) { return m[slot], nil }
