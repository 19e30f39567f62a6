package fakeapi

import "time"

// These types follow docs/console-api.md, field for field, and not
// console.Status: the web console is built against the contract, and the
// fake must not follow the Go types where they lag behind it.

// StatusReply is GET /v1/status.
type StatusReply struct {
	Local     Status  `json:"local"`
	Peer      *Status `json:"peer"`
	PeerError string  `json:"peer_error"`
}

// Status is one node's view of the pair.
type Status struct {
	Node        Node         `json:"node"`
	Peer        Peer         `json:"peer"`
	Pair        string       `json:"pair"`
	Paths       []Path       `json:"paths"`
	Daemons     []Daemon     `json:"daemons"`
	Agents      []Agent      `json:"agents"`
	Perf        *Perf        `json:"perf,omitempty"`
	Resources   []Group      `json:"resources"`
	Transitions []Transition `json:"transitions"`
	Drops       Drops        `json:"drops"`
	Admin       *Reply       `json:"last_admin_reply,omitempty"`
	Taken       time.Time    `json:"taken"`
}

// Node is the node itself.
type Node struct {
	ID    uint8  `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	Held  string `json:"held"`
	Flags string `json:"flags"`
}

// Peer is the other node as last heard.
type Peer struct {
	Node
	Alive      bool    `json:"alive"`
	LastHeardS float64 `json:"last_heard_s"`
	Epoch      uint64  `json:"epoch"`
}

// Path is one heartbeat path.
type Path struct {
	Name        string  `json:"name"`
	Up          bool    `json:"up"`
	LastHeardS  float64 `json:"last_heard_s"`
	Heard       uint64  `json:"heard"`
	Late        uint64  `json:"late"`
	Downs       uint64  `json:"downs"`
	RTTMs       float64 `json:"rtt_ms"`
	MaxGapMs    float64 `json:"max_gap_ms"`
	LossPercent float64 `json:"loss_percent"`
	Lost        uint64  `json:"lost"`
}

// Daemon is one had process.
type Daemon struct {
	Role     string  `json:"role"`
	PID      int32   `json:"pid"`
	Alive    bool    `json:"alive"`
	UpdatedS float64 `json:"updated_s"`
	Phase    string  `json:"phase"`
	Restarts uint64  `json:"restarts"`
}

// Agent is one agent's latest verdict.
type Agent struct {
	Name     string  `json:"name"`
	Value    string  `json:"value"`
	Message  string  `json:"message"`
	AgeS     float64 `json:"age_s"`
	Critical bool    `json:"critical"`
	Service  bool    `json:"service"`
	PID      int32   `json:"pid"`
	Restarts uint64  `json:"restarts"`
}

// Perf is the seed-002 figures of a node.
type Perf struct {
	CPUPercent    float64 `json:"cpu_percent"`
	MemPercent    float64 `json:"mem_percent"`
	NetPacketsIn  float64 `json:"net_packets_in_per_s"`
	NetPacketsOut float64 `json:"net_packets_out_per_s"`
	DiskReads     float64 `json:"disk_reads_per_s"`
	DiskWrites    float64 `json:"disk_writes_per_s"`
	Load1         float64 `json:"load1"`
}

// Group is one of the node's tables.
type Group struct {
	Group   string  `json:"group"`
	Table   string  `json:"table"` // "recover" or "takeover"
	File    string  `json:"file"`
	Held    bool    `json:"held"`
	Entries []Entry `json:"entries"`
}

// Entry is one table entry.
type Entry struct {
	Kind string `json:"kind"` // vip, service, ocf, cmd, tee
	Name string `json:"name"`
}

// Transition is one state change.
type Transition struct {
	Time time.Time `json:"time"`
	From string    `json:"from"`
	To   string    `json:"to"`
	Text string    `json:"text"`
}

// Drops counts refused frames.
type Drops struct {
	Cluster uint64 `json:"other_cluster"`
	MAC     uint64 `json:"bad_mac"`
	Replay  uint64 `json:"replay"`
	Short   uint64 `json:"truncated"`
	Invalid uint64 `json:"invalid"`
	Serial  uint64 `json:"serial_garbage"`
}

// Reply is had2's answer to an admin request.
type Reply struct {
	ID   uint64 `json:"id"`
	OK   bool   `json:"ok"`
	Text string `json:"text"`
}

// History is GET /v1/history.
type History struct {
	IntervalS float64  `json:"interval_s"`
	Samples   []Sample `json:"samples"`
}

// Sample is one second of history.
type Sample struct {
	T         time.Time    `json:"t"`
	Paths     []PathSample `json:"paths"`
	Local     *Perf        `json:"local"`
	Peer      *Perf        `json:"peer"`
	State     string       `json:"state"`
	PeerState string       `json:"peer_state"`
}

// PathSample is one path in a sample.
type PathSample struct {
	Name        string  `json:"name"`
	Up          bool    `json:"up"`
	RTTMs       float64 `json:"rtt_ms"`
	LossPercent float64 `json:"loss_percent"`
}
