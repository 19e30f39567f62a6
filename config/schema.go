package config

// The TOML schema. Keys are snake_case; durations are strings for
// time.ParseDuration ("50ms"); addresses are "ip:port" ("10.213.0.1:6940",
// "[2001:db8::1]:6940").
//
// Every leaf is `any`: a value of the wrong type ("node_id = \"one\"") is
// then reported by read, with its line, next to every other problem,
// instead of stopping go-toml's decoder at the first one. The tables are
// structs so that go-toml's strict mode reports every unknown key.

type tomlFile struct {
	ClusterID     any `toml:"cluster_id"`
	NodeID        any `toml:"node_id"`
	NodeName      any `toml:"node_name"`
	PeerName      any `toml:"peer_name"`
	Mode          any `toml:"mode"`
	Primary       any `toml:"primary"`
	Failback      any `toml:"failback"`
	KeyFile       any `toml:"key_file"`
	RecoverTable  any `toml:"recover_table"`
	TakeoverTable any `toml:"takeover_table"`
	ShmPath       any `toml:"shm_path"`
	StateDir      any `toml:"state_dir"`
	BinDir        any `toml:"bin_dir"`
	LogLevel      any `toml:"log_level"`
	AgentsDir     any `toml:"agents_dir"`

	Timers    tomlTimers    `toml:"timers"`
	UDP       []tomlUDP     `toml:"udp"`
	Serial    []tomlSerial  `toml:"serial"`
	Fence     tomlFence     `toml:"fence"`
	Supervise tomlSupervise `toml:"supervise"`
	Realtime  tomlRealtime  `toml:"realtime"`
	Agent     []tomlAgent   `toml:"agent"`
	Admin     tomlAdmin     `toml:"admin"`
	Alerts    tomlAlerts    `toml:"alerts"`
}

type tomlTimers struct {
	Interval   any `toml:"interval"`
	Warntime   any `toml:"warntime"`
	Deadtime   any `toml:"deadtime"`
	Initdead   any `toml:"initdead"`
	AckTimeout any `toml:"ack_timeout"`
	Retransmit any `toml:"retransmit"`
}

type tomlUDP struct {
	Name      any `toml:"name"`
	Local     any `toml:"local"`
	Peer      any `toml:"peer"`
	Interface any `toml:"interface"`
}

type tomlSerial struct {
	Name   any `toml:"name"`
	Device any `toml:"device"`
	Baud   any `toml:"baud"`
}

type tomlFence struct {
	Command  any `toml:"command"`
	Timeout  any `toml:"timeout"`
	Required any `toml:"required"`
}

type tomlSupervise struct {
	Liveness      any `toml:"liveness"`
	HangTimeout   any `toml:"hang_timeout"`
	BrainGrace    any `toml:"brain_grace"`
	MaxRestarts   any `toml:"max_restarts"`
	RestartWindow any `toml:"restart_window"`
	BackoffMin    any `toml:"backoff_min"`
	BackoffMax    any `toml:"backoff_max"`
}

type tomlRealtime struct {
	Policy     any `toml:"policy"`
	Priority   any `toml:"priority"`
	LockMemory any `toml:"lock_memory"`
	Processes  any `toml:"processes"`
}

// tomlAgent is one [[agent]]: the common keys, then every kind's own keys
// (a key of another kind is reported by readAgent).
type tomlAgent struct {
	Name     any `toml:"name"`
	Kind     any `toml:"kind"`
	Critical any `toml:"critical"`
	Scope    any `toml:"scope"`
	Interval any `toml:"interval"`
	Timeout  any `toml:"timeout"`
	Fall     any `toml:"fall"`
	Rise     any `toml:"rise"`

	Process       any `toml:"process"`
	PIDFile       any `toml:"pid_file"`
	URL           any `toml:"url"`
	Method        any `toml:"method"`
	ExpectStatus  any `toml:"expect_status"`
	ExpectBody    any `toml:"expect_body"`
	TLSSkipVerify any `toml:"tls_skip_verify"`
	Address       any `toml:"address"`
	Count         any `toml:"count"`
	Interface     any `toml:"interface"`
	Path          any `toml:"path"`
	WarnPercent   any `toml:"warning_percent"`
	ErrorPercent  any `toml:"error_percent"`
	Command       any `toml:"command"`
}
