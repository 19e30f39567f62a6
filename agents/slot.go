package agents

import (
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// TableSlot is an agent's result slot in the node's table.
type TableSlot struct {
	Table *shm.Table
	Index int // the slot number (Spec.ResultSlot)
}

// Last implements Slot.
func (s TableSlot) Last() (slots.AgentResult, bool, bool) {
	rec, err := s.Table.Read(s.Index)
	if rec.Type != shm.TypeAgent || !slots.ValidAgentResult(rec) {
		return slots.AgentResult{}, false, false
	}
	return slots.ParseAgentResult(rec), true, err == nil
}

// Write implements Slot.
func (s TableSlot) Write(r slots.AgentResult) { s.Table.Write(s.Index, r.Record()) }

// Ring implements Slot.
func (s TableSlot) Ring() { s.Table.Ring(shm.BellHad2) }
