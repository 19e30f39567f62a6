package had2

import (
	"testing"

	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func TestEvaluate(t *testing.T) {
	base := map[string]uint64{"web": 10, "gw": 10}
	node := func(v shm.Value) agentView {
		return agentView{Name: "gw", Critical: true, Value: v, Counter: 20, Fresh: true}
	}
	svc := func(v shm.Value, counter uint64) agentView {
		return agentView{Name: "web", Critical: true, Service: true, Value: v, Counter: counter, Fresh: true}
	}
	risen := func(v shm.Value, counter uint64) agentView { // rise = 3
		a := svc(v, counter)
		a.Rise = 3
		return a
	}
	tests := []struct {
		name   string
		agents []agentView
		want   fsm.Health
	}{
		{"none", nil, fsm.Health{OK: true}},
		{"all ok", []agentView{node(shm.OK), svc(shm.OK, 20)}, fsm.Health{OK: true}},
		{"node error", []agentView{node(shm.Error)}, fsm.Health{OK: false}},
		{"warning only alerts", []agentView{node(shm.Warning), svc(shm.Warning, 20)}, fsm.Health{OK: true}},
		{"service error", []agentView{svc(shm.Error, 12)}, fsm.Health{OK: true, ServiceFailed: true}},
		{"service error written before the start", []agentView{svc(shm.Error, 10)}, fsm.Health{OK: true}},
		{"service error of a check under way at the start", []agentView{svc(shm.Error, 11)}, fsm.Health{OK: true}},
		{"service error from a slot written afresh", []agentView{svc(shm.Error, 2)}, fsm.Health{OK: true, ServiceFailed: true}},
		{"service error while rise good checks may be under way", []agentView{risen(shm.Error, 13)}, fsm.Health{OK: true}},
		{"service error still standing after rise more checks", []agentView{risen(shm.Error, 14)}, fsm.Health{OK: true, ServiceFailed: true}},
		{"node error before the start counts", []agentView{{Name: "gw", Critical: true, Value: shm.Error, Counter: 10, Fresh: true}}, fsm.Health{OK: false}},
		{"not critical", []agentView{{Name: "x", Value: shm.Error, Counter: 20, Fresh: true}}, fsm.Health{OK: true}},
		{"stale error", []agentView{{Name: "gw", Critical: true, Value: shm.Error, Counter: 20}}, fsm.Health{OK: true}},
	}
	for _, tt := range tests {
		if got := evaluate(tt.agents, base); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if got := evaluate([]agentView{svc(shm.Error, 2)}, nil); got != (fsm.Health{OK: true, ServiceFailed: true}) {
		t.Errorf("no start yet: got %+v, want the service failed", got)
	}
}

func TestReadAgents(t *testing.T) {
	m := memTable{}
	id, res := slots.AgentSlots(0)
	m[id] = slots.AgentID{PID: 7, Name: "web", Flags: slots.AgentCritical | slots.AgentService, Rise: 2}.Record()
	m[res] = slots.AgentResult{Value: shm.Error, Counter: 5, Text: "connection refused"}.Record()
	id2, res2 := slots.AgentSlots(3)
	m[id2] = slots.AgentID{PID: 8, Name: "junk"}.Record()
	m[res2] = shm.Record{Type: shm.TypeAgent, Value: 42} // garbage: not a result
	got := readAgents(m)
	if len(got) != 2 {
		t.Fatalf("got %d agents, want 2: %+v", len(got), got)
	}
	if a := got[0]; a.Name != "web" || !a.Critical || !a.Service || !a.Fresh || a.Value != shm.Error || a.Counter != 5 || a.Rise != 2 || a.Text != "connection refused" {
		t.Errorf("agent 0: %+v", a)
	}
	if a := got[1]; a.Name != "junk" || a.Fresh {
		t.Errorf("agent with a garbage result: %+v, want not fresh", a)
	}

	stale := readAgents(staleResults{m})
	if a := stale[0]; a.Fresh || a.Counter != 5 {
		t.Errorf("agent with a stale result: %+v, want not fresh with counter 5 (the baseline)", a)
	}
}

// staleResults reads every agent result as stale.
type staleResults struct{ memTable }

func (s staleResults) Read(slot int) (shm.Record, error) {
	r, _ := s.memTable.Read(slot)
	if r.Type == shm.TypeAgent {
		return r, shm.ErrStale
	}
	return r, nil
}

// memTable is a map of records.
type memTable map[int]shm.Record

func (m memTable) Read(slot int) (shm.Record, error) { return m[slot], nil }
