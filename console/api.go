package console

import (
	"time"

	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// The admin server's API (docs/console-api.md). Field names are stable:
// add fields, never rename them.

// StatusResponse is GET /v1/status.
type StatusResponse struct {
	Local Status  `json:"local"`
	Peer  *Status `json:"peer"` // the peer admin server's own "local", when [admin] peer is set and it answered
	// PeerError says why Peer is null ("" when no peer is configured).
	PeerError string `json:"peer_error"`
}

// History is GET /v1/history: samples taken once a second.
type History struct {
	IntervalS float64  `json:"interval_s"`
	Samples   []Sample `json:"samples"`
}

// Sample is one second of history.
type Sample struct {
	T         time.Time    `json:"t"`
	Paths     []PathSample `json:"paths"`
	Local     *Perf        `json:"local"` // this node's figures, from its stats agent
	Peer      *Perf        `json:"peer"`  // the peer's, from its admin server
	State     string       `json:"state"`
	PeerState string       `json:"peer_state"` // as this node hears it; a silent peer is D
}

// PathSample is one path in a Sample.
type PathSample struct {
	Name        string  `json:"name"`
	Up          bool    `json:"up"`
	RTTMs       float64 `json:"rtt_ms"`
	LossPercent float64 `json:"loss_percent"`
}

// Events is GET /v1/events.
type Events struct {
	Events []Event `json:"events"`
	Newest uint64  `json:"newest"` // pass as ?after= to get only later ones
}

// Event is one entry of had2's events ring.
type Event struct {
	N     uint64    `json:"n"`
	Time  time.Time `json:"time"`
	Level string    `json:"level"` // INFORMATION, WARNING, ERROR
	Kind  string    `json:"kind"`  // alert, transition, agent, path, admin, table
	Text  string    `json:"text"`
	From  string    `json:"from"` // transitions: N, T, R or D
	To    string    `json:"to"`
	// Table runs: how long the whole table took and whether it started
	// or stopped the group.
	TookMs float64 `json:"took_ms,omitempty"`
	Op     string  `json:"op,omitempty"`
}

// EventOf converts an events-ring entry for the API.
func EventOf(e slots.Event) Event {
	out := Event{N: e.N, Time: time.Unix(0, e.Time).UTC(), Level: e.Level.String(), Kind: e.Kind.String(), Text: e.Text}
	switch e.Kind {
	case slots.EventTransition:
		out.From, out.To = stateText(e.From), stateText(e.To)
	case slots.EventTable:
		out.TookMs, out.Op = float64(e.Took)/1e6, "stop"
		if e.Start {
			out.Op = "start"
		}
	}
	return out
}

// ReloadReply is POST /v1/reload: had1's answer.
type ReloadReply struct {
	OK   bool   `json:"ok"`
	Text string `json:"text"`
}

// ErrorBody is the body of every non-2xx answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Commands maps the console's words (and POST /v1/WORD) to admin
// commands for had2.
var Commands = map[string]fsm.AdminCmd{
	"takeover": fsm.AdminTakeover,
	"standby":  fsm.AdminStandby,
	"recover":  fsm.AdminRecover,
}

// LevelName is the alerts' name of an event level: info, warning, error.
func LevelName(v shm.Value) string {
	switch v {
	case shm.Warning:
		return "warning"
	case shm.Error, shm.Overtime:
		return "error"
	}
	return "info"
}

// PeerState is the peer's state as this node sees it, a silent peer
// counting as D (as in the pair notation).
func (s Status) PeerState() string {
	if !s.Peer.Alive {
		return "D"
	}
	return s.Peer.State
}
