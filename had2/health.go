package had2

import (
	"errors"

	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// agentView is what had2 knows of one agent from its two slots.
type agentView struct {
	Name     string
	Critical bool
	Service  bool      // watches the services the node runs (else the node itself)
	Value    shm.Value // meaningful only when Fresh
	Stamp    int64     // when the agent wrote its result (CLOCK_MONOTONIC ns)
	Fresh    bool      // a valid result within the agent's promised interval
	Text     string
}

// readAgents reads every agent slot pair that had1 has filled in.
func readAgents(t reader) []agentView {
	var out []agentView
	for i := 0; i < shm.MaxAgents; i++ {
		idSlot, resSlot := slots.AgentSlots(i)
		idRec, err := t.Read(idSlot)
		if err != nil && !errors.Is(err, shm.ErrStale) || idRec.Type != shm.TypeAgentID {
			continue
		}
		id := slots.ParseAgentID(idRec)
		v := agentView{Name: id.Name, Critical: id.Flags&slots.AgentCritical != 0, Service: id.Flags&slots.AgentService != 0}
		res, err := t.Read(resSlot)
		if err == nil && slots.ValidAgentResult(res) {
			v.Fresh, v.Value, v.Stamp, v.Text = true, res.Value, res.Stamp, res.Text
		}
		out = append(out, v)
	}
	return out
}

// evaluate is the critical agents' verdict for the machine. A node-scoped
// critical agent in ERROR makes the node unfit. A service-scoped one counts
// only with a result written after the last table start completed
// (startedAt): an older result describes the service before had started
// it. An agent with no fresh result (dead, hung, restarting) counts as
// neither: had1 is restarting it, and a broken agent must not move the
// service.
func evaluate(agents []agentView, startedAt int64) fsm.Health {
	h := fsm.Health{OK: true}
	for _, a := range agents {
		if !a.Critical || !a.Fresh || a.Value != shm.Error {
			continue
		}
		switch {
		case !a.Service:
			h.OK = false
		case a.Stamp > startedAt:
			h.ServiceFailed = true
		}
	}
	return h
}
