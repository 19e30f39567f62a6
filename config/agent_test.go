package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/shm"
)

// everyAgent is one agent of every kind with every key it takes; it
// needs agents_dir = "agents.d" (everyAgentTop).
const everyAgent = `[[agent]]
name = "web-proc"
kind = "process"
critical = true
scope = "service"
interval = "500ms"
timeout = "200ms"
fall = 3
rise = 2
process = "nginx"
pid_file = "/run/nginx.pid"
[[agent]]
name = "web"
kind = "http"
url = "https://127.0.0.1:8443/health"
method = "GET"
expect_status = 204
expect_body = "alive"
tls_skip_verify = true
[[agent]]
name = "db"
kind = "tcp"
address = "[::1]:5432"
[[agent]]
name = "gw"
kind = "gateway"
critical = true
address = "::ffff:10.213.0.254"
count = 5
[[agent]]
name = "uplink"
kind = "link"
interface = "eth0"
[[agent]]
name = "cpu"
kind = "cpu"
error_percent = 99.5
[[agent]]
name = "mem"
kind = "memory"
warning_percent = 80
[[agent]]
name = "var"
kind = "disk"
path = "/var/"
warning_percent = 85
error_percent = 95
[[agent]]
name = "stats"
kind = "stats"
[[agent]]
name = "nagios"
kind = "exec"
scope = "node"
interval = "30s"
command = ["/usr/lib/nagios/plugins/check_tcp", "-H", "127.0.0.1", "-p", "80"]
[[agent]]
name = "mine"
kind = "exec"
[[agent]]
name = "reporter"
kind = "daemon"
interval = "2s"
command = ["bin/reporter", "--flag"]
`

var everyAgentTop = map[string]string{"agents_dir": `"agents.d"`}

func TestEveryAgentSetting(t *testing.T) {
	cfg, err := Parse(testFile, []byte(doc(everyAgentTop, baseTables+everyAgent)))
	if err != nil {
		t.Fatal(err)
	}
	sec := time.Second
	want := []Agent{
		{Name: "web-proc", Kind: KindProcess, Critical: true, Scope: ScopeService, Interval: 500 * time.Millisecond, Timeout: 200 * time.Millisecond,
			Fall: 3, Rise: 2, Process: "nginx", PIDFile: "/run/nginx.pid"},
		{Name: "web", Kind: KindHTTP, Scope: ScopeService, Interval: sec, Timeout: sec, Fall: 1, Rise: 1,
			URL: "https://127.0.0.1:8443/health", Method: "GET", ExpectStatus: 204, ExpectBody: "alive", TLSSkipVerify: true},
		{Name: "db", Kind: KindTCP, Scope: ScopeService, Interval: sec, Timeout: sec, Fall: 1, Rise: 1, Address: "[::1]:5432"},
		{Name: "gw", Kind: KindGateway, Critical: true, Scope: ScopeNode, Interval: sec, Timeout: sec, Fall: 1, Rise: 1, Address: "10.213.0.254", Count: 5},
		{Name: "uplink", Kind: KindLink, Scope: ScopeNode, Interval: sec, Timeout: sec, Fall: 1, Rise: 1, Interface: "eth0"},
		{Name: "cpu", Kind: KindCPU, Scope: ScopeNode, Interval: 5 * sec, Timeout: sec, Fall: 1, Rise: 1, ErrorPercent: 99.5},
		{Name: "mem", Kind: KindMemory, Scope: ScopeNode, Interval: 5 * sec, Timeout: sec, Fall: 1, Rise: 1, WarnPercent: 80},
		{Name: "var", Kind: KindDisk, Scope: ScopeNode, Interval: 5 * sec, Timeout: sec, Fall: 1, Rise: 1, Path: "/var", WarnPercent: 85, ErrorPercent: 95},
		{Name: "stats", Kind: KindStats, Scope: ScopeNode, Interval: sec, Timeout: sec, Fall: 1, Rise: 1},
		{Name: "nagios", Kind: KindExec, Scope: ScopeNode, Interval: 30 * sec, Timeout: 10 * sec, Fall: 1, Rise: 1,
			Command: []string{"/usr/lib/nagios/plugins/check_tcp", "-H", "127.0.0.1", "-p", "80"}},
		{Name: "mine", Kind: KindExec, Scope: ScopeService, Interval: 10 * sec, Timeout: 10 * sec, Fall: 1, Rise: 1,
			Command: []string{"/etc/had/agents.d/mine"}},
		{Name: "reporter", Kind: KindDaemon, Scope: ScopeService, Interval: 2 * sec, Fall: 1, Rise: 1,
			Command: []string{"/etc/had/bin/reporter", "--flag"}},
	}
	if cfg.AgentsDir != "/etc/had/agents.d" {
		t.Errorf("got agents_dir %q, want /etc/had/agents.d", cfg.AgentsDir)
	}
	if len(cfg.Agents) != len(want) {
		t.Fatalf("got %d agents, want %d", len(cfg.Agents), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(cfg.Agents[i], want[i]) {
			t.Errorf("agent %d: got\n%+v\nwant\n%+v", i, cfg.Agents[i], want[i])
		}
	}
	again, err := Parse(testFile, encode(t, cfg))
	if err != nil || !reflect.DeepEqual(again, cfg) {
		t.Errorf("round trip: got %+v, %v; want %+v", again, err, cfg)
	}
}

func TestAgentDefaults(t *testing.T) {
	tests := []struct {
		kind              AgentKind
		interval, timeout time.Duration
		scope             AgentScope
	}{
		{KindProcess, time.Second, time.Second, ScopeService},
		{KindHTTP, time.Second, time.Second, ScopeService},
		{KindTCP, time.Second, time.Second, ScopeService},
		{KindGateway, time.Second, time.Second, ScopeNode},
		{KindLink, time.Second, time.Second, ScopeNode},
		{KindCPU, 5 * time.Second, time.Second, ScopeNode},
		{KindMemory, 5 * time.Second, time.Second, ScopeNode},
		{KindDisk, 5 * time.Second, time.Second, ScopeNode},
		{KindStats, time.Second, time.Second, ScopeNode},
		{KindExec, 10 * time.Second, 10 * time.Second, ScopeService},
		{KindDaemon, time.Second, 0, ScopeService},
	}
	if len(tests) != len(AgentKinds) {
		t.Fatalf("test covers %d kinds, want %d", len(tests), len(AgentKinds))
	}
	for _, tc := range tests {
		a := DefaultAgent(tc.kind, "x")
		if a.Interval != tc.interval || a.Timeout != tc.timeout || a.Scope != tc.scope || a.Fall != 1 || a.Rise != 1 {
			t.Errorf("%s: got interval %s timeout %s scope %s fall %d rise %d; want %s %s %s 1 1",
				tc.kind, a.Interval, a.Timeout, a.Scope, a.Fall, a.Rise, tc.interval, tc.timeout, tc.scope)
		}
		if _, ok := kindKeys[tc.kind]; !ok {
			t.Errorf("%s: no kindKeys entry", tc.kind)
		}
	}
	if MaxAgents != shm.MaxAgents {
		t.Errorf("got MaxAgents %d, want shm.MaxAgents %d", MaxAgents, shm.MaxAgents)
	}
}

// agentDoc is a valid document with agents after the base tables.
func agentDoc(agents string) string { return baseTables + agents }

func TestAgentRules(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "[[agent]]\nname = \"s%d\"\nkind = \"stats\"\n", i)
		}
		return b.String()
	}
	cases := []struct {
		name   string
		top    map[string]string
		agents string
		field  string
		msg    string
	}{
		{name: "agents_dir empty", top: map[string]string{"agents_dir": `"" # <-`}, field: "agents_dir", msg: "empty"},
		{name: "name missing", agents: "[[agent]] # <-\nkind = \"stats\"\n", field: "agent[0].name", msg: "required"},
		{name: "name with a space", agents: "[[agent]]\nname = \"my web\" # <-\nkind = \"stats\"\n", field: "agent[0].name", msg: "only letters"},
		{name: "name with a slash", agents: "[[agent]]\nname = \"a/b\" # <-\nkind = \"stats\"\n", field: "agent[0].name", msg: "only letters"},
		{name: "name dot-dot", agents: "[[agent]]\nname = \"..\" # <-\nkind = \"stats\"\n", field: "agent[0].name", msg: "not a name"},
		{name: "name twice", agents: "[[agent]]\nname = \"a\"\nkind = \"stats\"\n[[agent]]\nname = \"a\" # <-\nkind = \"stats\"\n", field: "agent[1].name", msg: "already used by agent[0]"},
		{name: "kind missing", agents: "[[agent]] # <-\nname = \"a\"\n", field: "agent[0].kind", msg: "required"},
		{name: "kind unknown", agents: "[[agent]]\nname = \"a\"\nkind = \"ping\" # <-\n", field: "agent[0].kind", msg: "not one of"},
		{name: "unknown key", agents: "[[agent]]\nname = \"a\"\nkind = \"stats\"\ncolour = 1 # <-\n", field: "agent[0].colour", msg: "unknown key"},
		{name: "key of another kind", agents: "[[agent]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\nurl = \"http://x/\" # <-\n", field: "agent[0].url", msg: "not used by kind \"tcp\""},
		{name: "critical not a bool", agents: "[[agent]]\nname = \"a\"\nkind = \"cpu\"\ncritical = \"yes\" # <-\n", field: "agent[0].critical", msg: "want true or false"},
		{name: "scope unknown", agents: "[[agent]]\nname = \"a\"\nkind = \"cpu\"\nscope = \"host\" # <-\n", field: "agent[0].scope", msg: "not one of"},
		{name: "interval too short", agents: "[[agent]]\nname = \"a\"\nkind = \"cpu\"\ninterval = \"50ms\" # <-\n", field: "agent[0].interval", msg: "too short"},
		{name: "interval not a duration", agents: "[[agent]]\nname = \"a\"\nkind = \"cpu\"\ninterval = \"1\" # <-\n", field: "agent[0].interval", msg: "not a duration"},
		{name: "timeout over interval", agents: "[[agent]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\ninterval = \"1s\"\ntimeout = \"2s\" # <-\n", field: "agent[0].timeout", msg: "must not exceed interval"},
		{name: "timeout over the default interval", agents: "[[agent]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\ntimeout = \"3s\" # <-\n", field: "agent[0].timeout", msg: "must not exceed interval"},
		{name: "timeout for a daemon", agents: "[[agent]]\nname = \"a\"\nkind = \"daemon\"\ncommand = [\"/bin/x\"]\ntimeout = \"1s\" # <-\n", field: "agent[0].timeout", msg: "not used by kind"},
		{name: "fall zero", agents: "[[agent]]\nname = \"a\"\nkind = \"cpu\"\nfall = 0 # <-\n", field: "agent[0].fall", msg: "out of range"},
		{name: "rise too big", agents: "[[agent]]\nname = \"a\"\nkind = \"cpu\"\nrise = 101 # <-\n", field: "agent[0].rise", msg: "out of range"},
		{name: "33 agents", agents: many(32) + "[[agent]] # <-\nname = \"last\"\nkind = \"stats\"\n", field: "agent[32]", msg: "at most 32"},

		{name: "process without name or pid file", agents: "[[agent]] # <-\nname = \"a\"\nkind = \"process\"\n", field: "agent[0].process", msg: "required"},
		{name: "process name too long", agents: "[[agent]]\nname = \"a\"\nkind = \"process\"\nprocess = \"a-very-long-daemon\" # <-\n", field: "agent[0].process", msg: "only 15"},
		{name: "process name a path", agents: "[[agent]]\nname = \"a\"\nkind = \"process\"\nprocess = \"/usr/sbin/nginx\" # <-\n", field: "agent[0].process", msg: "no '/'"},
		{name: "pid_file empty", agents: "[[agent]]\nname = \"a\"\nkind = \"process\"\npid_file = \"\" # <-\n", field: "agent[0].pid_file", msg: "empty"},

		{name: "http url missing", agents: "[[agent]] # <-\nname = \"a\"\nkind = \"http\"\n", field: "agent[0].url", msg: "required"},
		{name: "http url not http", agents: "[[agent]]\nname = \"a\"\nkind = \"http\"\nurl = \"ftp://x/\" # <-\n", field: "agent[0].url", msg: "not an http"},
		{name: "http url without host", agents: "[[agent]]\nname = \"a\"\nkind = \"http\"\nurl = \"http:///x\" # <-\n", field: "agent[0].url", msg: "with a host"},
		{name: "http url bad port", agents: "[[agent]]\nname = \"a\"\nkind = \"http\"\nurl = \"http://x:99999/\" # <-\n", field: "agent[0].url", msg: "out of range"},
		{name: "http method POST", agents: "[[agent]]\nname = \"a\"\nkind = \"http\"\nurl = \"http://x/\"\nmethod = \"POST\" # <-\n", field: "agent[0].method", msg: "not one of"},
		{name: "http status 600", agents: "[[agent]]\nname = \"a\"\nkind = \"http\"\nurl = \"http://x/\"\nexpect_status = 600 # <-\n", field: "agent[0].expect_status", msg: "not an HTTP status"},
		{name: "http body with HEAD", agents: "[[agent]]\nname = \"a\"\nkind = \"http\"\nurl = \"http://x/\"\nmethod = \"HEAD\"\nexpect_body = \"ok\" # <-\n", field: "agent[0].expect_body", msg: "HEAD"},
		{name: "http body empty", agents: "[[agent]]\nname = \"a\"\nkind = \"http\"\nurl = \"http://x/\"\nexpect_body = \"\" # <-\n", field: "agent[0].expect_body", msg: "empty"},

		{name: "tcp address missing", agents: "[[agent]] # <-\nname = \"a\"\nkind = \"tcp\"\n", field: "agent[0].address", msg: "required"},
		{name: "tcp address without port", agents: "[[agent]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"127.0.0.1\" # <-\n", field: "agent[0].address", msg: "not host:port"},
		{name: "tcp port 0", agents: "[[agent]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"127.0.0.1:0\" # <-\n", field: "agent[0].address", msg: "1 to 65535"},

		{name: "gateway address missing", agents: "[[agent]] # <-\nname = \"a\"\nkind = \"gateway\"\n", field: "agent[0].address", msg: "required"},
		{name: "gateway host name", agents: "[[agent]]\nname = \"a\"\nkind = \"gateway\"\naddress = \"router\" # <-\n", field: "agent[0].address", msg: "not an IP address"},
		{name: "gateway unspecified", agents: "[[agent]]\nname = \"a\"\nkind = \"gateway\"\naddress = \"0.0.0.0\" # <-\n", field: "agent[0].address", msg: "cannot answer"},
		{name: "gateway count zero", agents: "[[agent]]\nname = \"a\"\nkind = \"gateway\"\naddress = \"10.213.0.1\"\ncount = 0 # <-\n", field: "agent[0].count", msg: "out of range"},

		{name: "link interface missing", agents: "[[agent]] # <-\nname = \"a\"\nkind = \"link\"\n", field: "agent[0].interface", msg: "required"},
		{name: "link interface too long", agents: "[[agent]]\nname = \"a\"\nkind = \"link\"\ninterface = \"0123456789abcdef\" # <-\n", field: "agent[0].interface", msg: "not an interface name"},

		{name: "threshold over 100", agents: "[[agent]]\nname = \"a\"\nkind = \"memory\"\nwarning_percent = 101 # <-\n", field: "agent[0].warning_percent", msg: "out of range"},
		{name: "threshold negative", agents: "[[agent]]\nname = \"a\"\nkind = \"cpu\"\nerror_percent = -1.5 # <-\n", field: "agent[0].error_percent", msg: "out of range"},
		{name: "threshold a string", agents: "[[agent]]\nname = \"a\"\nkind = \"cpu\"\nerror_percent = \"90%\" # <-\n", field: "agent[0].error_percent", msg: "want a number"},
		{name: "thresholds reversed", agents: "[[agent]]\nname = \"a\"\nkind = \"disk\"\nwarning_percent = 95 # <-\nerror_percent = 90\n", field: "agent[0].warning_percent", msg: "must be below"},
		{name: "thresholds both off", agents: "[[agent]]\nname = \"a\"\nkind = \"disk\"\nwarning_percent = 0\nerror_percent = 0 # <-\n", field: "agent[0].error_percent", msg: "both thresholds are off"},
		{name: "disk path relative", agents: "[[agent]]\nname = \"a\"\nkind = \"disk\"\npath = \"var\" # <-\n", field: "agent[0].path", msg: "absolute"},

		{name: "stats critical", agents: "[[agent]]\nname = \"a\"\nkind = \"stats\"\ncritical = true # <-\n", field: "agent[0].critical", msg: "can never act"},

		{name: "exec command missing without agents_dir", agents: "[[agent]] # <-\nname = \"a\"\nkind = \"exec\"\n", field: "agent[0].command", msg: "required"},
		{name: "exec command a string", agents: "[[agent]]\nname = \"a\"\nkind = \"exec\"\ncommand = \"check_tcp -H x\" # <-\n", field: "agent[0].command", msg: "want an array of strings"},
		{name: "exec command empty", agents: "[[agent]]\nname = \"a\"\nkind = \"exec\"\ncommand = [] # <-\n", field: "agent[0].command", msg: "program is missing"},
		{name: "exec command holds a number", agents: "[[agent]]\nname = \"a\"\nkind = \"exec\"\ncommand = [\"/bin/x\", 5] # <-\n", field: "agent[0].command[1]", msg: "want a string"},
		{name: "daemon command missing", agents: "[[agent]] # <-\nname = \"a\"\nkind = \"daemon\"\n", field: "agent[0].command", msg: "required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := doc(tc.top, agentDoc(tc.agents))
			cfg, err := Parse(testFile, []byte(src))
			if err == nil {
				t.Fatalf("got no error, want one on %s\n%s", tc.field, src)
			}
			if cfg != nil {
				t.Errorf("got a Config with an error, want nil")
			}
			es := asErrors(t, err)
			if len(es) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v\n--- document:\n%s", len(es), err, src)
			}
			e, want := es[0], markedLine(src)
			if e.Line != want || e.Field != tc.field {
				t.Errorf("got line %d field %q, want line %d field %q (%v)", e.Line, e.Field, want, tc.field, e)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got message %q, want it to contain %q", e.Msg, tc.msg)
			}
		})
	}
}

func TestAgentTimeoutFollowsInterval(t *testing.T) {
	// An unwritten timeout is the kind's default cut to the interval.
	cfg, err := Parse(testFile, []byte(doc(nil, agentDoc("[[agent]]\nname = \"n\"\nkind = \"exec\"\ninterval = \"2s\"\ncommand = [\"sh\", \"-c\", \"exit 0\"]\n"))))
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Agents[0]; a.Timeout != 2*time.Second || a.Command[0] != "sh" {
		t.Errorf("got timeout %s command %q, want 2s and a bare sh", a.Timeout, a.Command)
	}
}

func TestLoadChecksAgentFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"had.toml": doc(map[string]string{"agents_dir": `"agents.d"`}, baseTables+ // agents_dir: line 7
			"[[agent]]\nname = \"a\"\nkind = \"exec\"\ncommand = [\"./checks/missing\"]\n"+ // command: line 14
			"[[agent]]\nname = \"b\"\nkind = \"exec\"\ncommand = [\"plain.txt\"]\n"+ // a bare name: not checked
			"[[agent]]\nname = \"c\"\nkind = \"exec\"\ncommand = [\"./plain.txt\", \"-x\"]\n"+ // line 22: not executable
			"[[agent]]\nname = \"d\"\nkind = \"daemon\"\ncommand = [\"/bin/sh\", \"-c\", \"sleep 1\"]\n"),
		"authkeys":      "",
		"recover.table": "",
		"plain.txt":     "",
	})
	_, err := Load(filepath.Join(dir, "had.toml"))
	es := asErrors(t, err)
	type got struct {
		line  int
		field string
	}
	var gots []got
	for _, e := range es {
		gots = append(gots, got{e.Line, e.Field})
	}
	want := []got{{7, "agents_dir"}, {14, "agent[0].command"}, {22, "agent[2].command"}}
	if !reflect.DeepEqual(gots, want) {
		t.Fatalf("got %v, want %v:\n%v", gots, want, err)
	}
	for i, part := range []string{"does not exist", "does not exist", "not executable"} {
		if !strings.Contains(es[i].Msg, part) {
			t.Errorf("error %d: got %q, want it to contain %q", i, es[i].Msg, part)
		}
	}

	// With the directory and the programs in place, it loads.
	if err := os.MkdirAll(filepath.Join(dir, "agents.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"checks/missing", "plain.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "plain.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(filepath.Join(dir, "had.toml"))
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	if got := cfg.Agents[0].Command[0]; got != filepath.Join(dir, "checks/missing") {
		t.Errorf("got command %q, want it resolved against the config directory", got)
	}
}
