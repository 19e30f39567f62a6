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
	Counter  uint64    // bumped by the agent at every write
	Rise     uint64    // good checks in a row before it reports OK again
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
		v := agentView{Name: id.Name, Critical: id.Flags&slots.AgentCritical != 0, Service: id.Flags&slots.AgentService != 0,
			Rise: id.Rise}
		// A torn read gives the zero record, which is no result; any other
		// is fresh or stale.
		if res, err := t.Read(resSlot); slots.ValidAgentResult(res) {
			v.Counter = res.Counter // a stale result's too: it is measuredAfter's baseline
			if err == nil {
				v.Fresh, v.Value, v.Text = true, res.Value, res.Text
			}
		}
		out = append(out, v)
	}
	return out
}

// counters returns each agent's write counter, the baseline of
// measuredAfter, taken when a table start completes.
func counters(agents []agentView) map[string]uint64 {
	m := make(map[string]uint64, len(agents))
	for _, a := range agents {
		m[a.Name] = a.Counter
	}
	return m
}

// measuredAfter reports whether a's ERROR describes the service after the
// baseline was taken (a table start completed). The first write after it
// may end a check that was under way before: a connect refused a moment
// before the service listened (seen in CI). An agent checks, then writes,
// one check at a time, so each later write's check began after the start;
// with rise, the agent reports OK only after that many good checks, so an
// ERROR still standing rise writes after the first has seen the started
// service fail. A counter below its baseline is a slot written afresh.
func measuredAfter(a agentView, base map[string]uint64) bool {
	b := base[a.Name]
	if a.Counter < b {
		b = 0
	}
	return a.Counter >= b+1+max(a.Rise, 1)
}

// evaluate is the critical agents' verdict for the machine. A node-scoped
// critical agent in ERROR makes the node unfit. A service-scoped one counts
// only with a result measured after the last table start completed (base,
// the counters then): an older one describes the service before had
// started it. An agent with no fresh result (dead, hung, restarting)
// counts as neither: had1 is restarting it, and a broken agent must not
// move the service.
func evaluate(agents []agentView, base map[string]uint64) fsm.Health {
	h := fsm.Health{OK: true}
	for _, a := range agents {
		if !a.Critical || !a.Fresh || a.Value != shm.Error {
			continue
		}
		switch {
		case !a.Service:
			h.OK = false
		case measuredAfter(a, base):
			h.ServiceFailed = true
		}
	}
	return h
}
