package had1

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/fileerr"
	"github.com/hadcluster/had/shm"
)

func loaded(mod func(*config.Config), own, peer []string) Loaded {
	c := &config.Config{File: "/etc/had/had.toml", ClusterID: 42, NodeID: 1, PeerID: 2, Mode: config.Symmetric,
		ShmPath: "/dev/shm/had", StateDir: "/var/lib/had", RecoverTable: "/etc/had/recover.table",
		TakeoverTable: "/etc/had/takeover.table", Timers: config.DefaultTimers()}
	if mod != nil {
		mod(c)
	}
	return Loaded{Config: c, Own: own, Peer: peer}
}

func TestRefusals(t *testing.T) {
	own := []string{"vip 10.213.0.100/32 dev=eth0", "service lsb=/etc/init.d/web"}
	peer := []string{"vip 10.213.0.200/32 dev=eth0"}
	cur := loaded(nil, own, peer)
	g1, g2 := wire.GroupOf(1), wire.GroupOf(2)
	tests := []struct {
		name string
		next Loaded
		held wire.Groups
		want []string // substrings, one per refusal, in order
	}{
		{"same", loaded(nil, own, peer), g1 | g2, nil},
		{"timers and other paths may change", loaded(func(c *config.Config) {
			c.Timers.Interval, c.KeyFile, c.LogLevel, c.Failback = 50*time.Millisecond, "/etc/had/keys2", "debug", config.FailbackManual
		}, own, peer), g1, nil},
		{"cluster id", loaded(func(c *config.Config) { c.ClusterID = 43 }, own, peer), 0, []string{"cluster_id: changed from 42 to 43"}},
		{"node id stops the table checks", loaded(func(c *config.Config) { c.NodeID, c.PeerID = 2, 1 }, nil, nil), g1, []string{"node_id: changed from 1 to 2"}},
		{"mode and primary", loaded(func(c *config.Config) { c.Mode, c.Primary = config.Asymmetric, 1 }, own, nil), 0,
			[]string{"mode: changed from symmetric to asymmetric", "primary: changed from 0 to 1"}},
		{"table and state paths", loaded(func(c *config.Config) { c.ShmPath, c.StateDir = "/dev/shm/x", "/tmp/s" }, own, peer), 0,
			[]string{"shm_path", "state_dir"}},
		{"held table may grow", loaded(nil, append(slices.Clone(own), "cmd name=x start=true stop=true"), peer), g1 | g2, nil},
		{"held table entry changed", loaded(nil, []string{"vip 10.213.0.101/32 dev=eth0", own[1]}, peer), g1,
			[]string{`recover.table: "vip 10.213.0.100/32 dev=eth0" changed or removed while this node holds g1`}},
		{"held peer table entry removed", loaded(nil, own, nil), g2,
			[]string{`takeover.table: "vip 10.213.0.200/32 dev=eth0" changed or removed while this node holds g2`}},
		{"tables of groups not held change freely", loaded(nil, []string{"vip 10.213.0.9/32 dev=eth1"}, nil), 0, nil},
	}
	for _, tt := range tests {
		got := Refusals(cur, tt.next, tt.held)
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %d refusals %q, want %d", tt.name, len(got), got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) || !strings.HasPrefix(got[i], "/etc/") {
				t.Errorf("%s: refusal %d is %q, want it to name its file and contain %q", tt.name, i, got[i], w)
			}
		}
	}
}

func TestAgentChanges(t *testing.T) {
	a := Agent{Index: 0, Name: "a", Argv: []string{"had-agent", "--agent=a"}, Hang: time.Second}
	b := Agent{Index: 1, Name: "b", Argv: []string{"had-agent", "--agent=b"}, Hang: time.Second}
	c := Agent{Index: 2, Name: "c", Argv: []string{"had-agent", "--agent=c"}, Hang: time.Second}
	bURL := b
	bURL.Config.URL = "http://127.0.0.1:81/" // only had-agent reads it
	cMoved := c
	cMoved.Index = 1
	names := func(as []Agent) string {
		var n []string
		for _, x := range as {
			n = append(n, x.Name)
		}
		return strings.Join(n, ",")
	}
	tests := []struct {
		name                   string
		cur, next              []Agent
		kept, stopped, started string
	}{
		{"none", nil, nil, "", "", ""},
		{"same", []Agent{a, b}, []Agent{a, b}, "a,b", "", ""},
		{"added", []Agent{a}, []Agent{a, b}, "a", "", "b"},
		{"removed, the next one moves up a slot", []Agent{a, b, c}, []Agent{a, cMoved}, "a", "b,c", "c"},
		{"configuration only had-agent reads", []Agent{a, b}, []Agent{a, bURL}, "a", "b", "b"},
	}
	for _, tt := range tests {
		k, s, st := AgentChanges(tt.cur, tt.next)
		if names(k) != tt.kept || names(s) != tt.stopped || names(st) != tt.started {
			t.Errorf("%s: got kept %q stopped %q started %q; want %q %q %q", tt.name, names(k), names(s), names(st),
				tt.kept, tt.stopped, tt.started)
		}
	}
}

func TestRefusalText(t *testing.T) {
	long := "/tmp/" + strings.Repeat("d", 90) + "/had.toml"
	line := fileerr.Error{File: long, Line: 17, Field: "timers.interval", Msg: `"soon" is not a duration`}
	joined := errors.Join(fileerr.Errors{line, {File: long, Line: 20, Msg: "x"}}, errors.New("authkeys: mode 0644"))
	tests := []struct {
		name     string
		problems []error
		want     string // prefix
		suffix   string
	}{
		{"none", nil, "reload refused", ""},
		{"short kept whole", []error{fileerr.Error{File: "/etc/had/had.toml", Line: 3, Msg: "bad"}}, "/etc/had/had.toml:3: bad", ""},
		{"long file cut to its base name", []error{line}, `had.toml:17: timers.interval: "soon" is not a duration`, ""},
		{"more problems counted", ErrorList(joined), "had.toml:17: timers.interval", " (+2 more)"},
	}
	for _, tt := range tests {
		got := refusalText(tt.problems)
		if !strings.HasPrefix(got, tt.want) || !strings.HasSuffix(got, tt.suffix) || len(got) > shm.TextSize || !utf8.ValidString(got) {
			t.Errorf("%s: got %q (%d bytes), want it to start with %q and end with %q, within %d bytes", tt.name, got, len(got),
				tt.want, tt.suffix, shm.TextSize)
		}
	}
	if got := len(ErrorList(joined)); got != 3 {
		t.Errorf("ErrorList of a join of 2+1 problems: got %d, want 3", got)
	}
	if got := cut("aé", 2); got != "a" {
		t.Errorf("cut in the middle of a rune: got %q, want %q", got, "a")
	}
}

func TestPIDFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "had1.pid")
	if err := WritePIDFile(path, 1234); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "1234\n" {
		t.Fatalf("pid file: got %q, %v; want %q", b, err, "1234\n")
	}
	if err := RemovePIDFile(path, 99); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the pid file of another had1 was removed: %v", err)
	}
	if err := RemovePIDFile(path, 1234); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("own pid file still there: %v", err)
	}
	if err := RemovePIDFile(path, 1234); err != nil {
		t.Errorf("removing a missing pid file: %v", err)
	}
}

// A watchdog period passed on by had2 (WATCHDOG_PID names the had1 before)
// is claimed, not ignored: had1 is the unit's main process now.
func TestWatchdogPeriod(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
	}{
		{"", "", 0},
		{"2000000", "", 2 * time.Second},
		{"2000000", strconv.Itoa(os.Getpid()), 2 * time.Second},
		{"500000", "1", 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Setenv("WATCHDOG_USEC", tt.usec)
		t.Setenv("WATCHDOG_PID", tt.pid)
		got, err := WatchdogPeriod()
		if err != nil || got != tt.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: got %v, %v; want %v", tt.usec, tt.pid, got, err, tt.want)
		}
	}
	t.Setenv("WATCHDOG_USEC", "soon")
	if _, err := WatchdogPeriod(); err == nil {
		t.Error("WATCHDOG_USEC=soon: no error")
	}
}
