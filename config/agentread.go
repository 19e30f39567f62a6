package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Limits on agent values.
const (
	// minAgentInterval: every check wakes a process (~0.1 ms of CPU here);
	// ten checks a second per agent is already more than the heartbeat costs.
	minAgentInterval = 100 * time.Millisecond
	// maxFallRise: keepalived allows any number; a hundred checks is
	// minutes at any sane interval.
	maxFallRise = 100
	// maxPingCount: the echoes of one check are spread over its timeout.
	maxPingCount = 100
	// maxCommName is TASK_COMM_LEN (16) minus the NUL: the kernel cuts
	// longer names in /proc/PID/comm, so a longer name never matches.
	maxCommName = 15
)

// readAgents reads agents_dir and every [[agent]].
func (r *reader) readAgents(f *tomlFile, cfg *Config) {
	r.path("agents_dir", f.AgentsDir, false, &cfg.AgentsDir)
	for i, t := range f.Agent {
		cfg.Agents = append(cfg.Agents, r.agent(fmt.Sprintf("agent[%d]", i), t, cfg.AgentsDir))
	}
}

// agent reads one [[agent]] at key path p. Kind-specific keys are read only
// once the kind is known, so that a bad kind gives one error, not one per key.
func (r *reader) agent(p string, t tomlAgent, agentsDir string) Agent {
	var a Agent
	name := ""
	if t.Name == nil {
		r.fail(p+".name", "required: a unique name of letters, digits, '_', '.' and '-'")
	} else if s, ok := r.str(p+".name", t.Name); ok {
		if msg := AgentNameProblem(s); msg != "" {
			r.fail(p+".name", "%q: %s", s, msg)
		} else {
			name = s
		}
	}
	kinds := make([]string, len(AgentKinds))
	for i, k := range AgentKinds {
		kinds[i] = string(k)
	}
	k, ok := r.oneOf(p+".kind", t.Kind, true, kinds...)
	if !ok {
		a.Name = name
		return a
	}
	kind := AgentKind(k)
	a = DefaultAgent(kind, name)

	if b, ok := r.boolean(p+".critical", t.Critical); ok {
		a.Critical = b
	}
	if s, ok := r.oneOf(p+".scope", t.Scope, false, string(ScopeService), string(ScopeNode)); ok {
		a.Scope = AgentScope(s)
	}
	r.duration(p+".interval", t.Interval, &a.Interval)
	if a.Interval < minAgentInterval && !r.bad[p+".interval"] {
		r.fail(p+".interval", "%s is too short: want at least %s (every check wakes a process)", a.Interval, minAgentInterval)
	}
	// An unwritten timeout is the kind's, cut to the interval.
	a.Timeout = min(a.Timeout, a.Interval)
	r.duration(p+".timeout", t.Timeout, &a.Timeout)
	if t.Timeout != nil && kind == KindDaemon {
		r.fail(p+".timeout", "not used by kind %q: the program writes its slot itself (interval says how often)", kind)
	}
	a.Fall = r.count(p+".fall", t.Fall, a.Fall, maxFallRise)
	a.Rise = r.count(p+".rise", t.Rise, a.Rise, maxFallRise)

	r.kindKeys(p, kind, t)
	switch kind {
	case KindProcess:
		r.readProcess(p, t, &a)
	case KindHTTP:
		r.readHTTP(p, t, &a)
	case KindTCP:
		r.readTCP(p, t, &a)
	case KindGateway:
		r.readGateway(p, t, &a)
	case KindLink:
		r.readLink(p, t, &a)
	case KindCPU, KindMemory, KindDisk:
		r.readThresholds(p, t, &a)
	case KindStats:
		if a.Critical {
			r.fail(p+".critical", "a stats agent always reports OK, so it can never act: remove critical")
		}
	case KindExec, KindDaemon:
		r.readCommand(p, t, &a, agentsDir)
	}
	return a
}

// AgentNameProblem says what is wrong with an agent name, or "" when it is
// fine. Names appear in logs, in `hactl status` and as file names in the
// agents directory, so they are short and plain.
func AgentNameProblem(s string) string {
	if s == "" || len(s) > maxNameLen {
		return fmt.Sprintf("want 1 to %d characters", maxNameLen)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "want only letters, digits, '_', '.' and '-'"
		}
	}
	if s == "." || s == ".." {
		return "not a name"
	}
	return ""
}

// kindKeys reports every kind-specific key written for a kind that does
// not use it.
func (r *reader) kindKeys(p string, kind AgentKind, t tomlAgent) {
	written := map[string]any{
		"process": t.Process, "pid_file": t.PIDFile, "url": t.URL, "method": t.Method, "expect_status": t.ExpectStatus,
		"expect_body": t.ExpectBody, "tls_skip_verify": t.TLSSkipVerify, "address": t.Address, "count": t.Count,
		"interface": t.Interface, "path": t.Path, "warning_percent": t.WarnPercent, "error_percent": t.ErrorPercent,
		"command": t.Command,
	}
	for key, v := range written {
		if v != nil && !contains(kindKeys[kind], key) {
			r.fail(p+"."+key, "not used by kind %q", kind)
		}
	}
}

// count reads a small positive integer.
func (r *reader) count(path string, v any, def int, limit int64) int {
	n, ok := r.integer(path, v, false)
	if !ok {
		return def
	}
	if n < 1 || n > limit {
		r.fail(path, "%d is out of range: want 1 to %d", n, limit)
		return def
	}
	return int(n)
}

func (r *reader) readProcess(p string, t tomlAgent, a *Agent) {
	if s, ok := r.str(p+".process", t.Process); ok {
		switch {
		case s == "" || strings.ContainsRune(s, '/'):
			r.fail(p+".process", "%q: want the process name as in /proc/PID/comm (no '/'), like \"nginx\"", s)
		case len(s) > maxCommName:
			r.fail(p+".process", "%q is %d bytes: the kernel keeps only %d in /proc/PID/comm, so it would never match (write %q)", s, len(s), maxCommName, s[:maxCommName])
		default:
			a.Process = s
		}
	}
	r.path(p+".pid_file", t.PIDFile, false, &a.PIDFile)
	if t.Process == nil && t.PIDFile == nil {
		r.fail(p+".process", "required: process (a name) or pid_file, or both")
	}
}

func (r *reader) readHTTP(p string, t tomlAgent, a *Agent) {
	if t.URL == nil {
		r.fail(p+".url", "required: like \"http://127.0.0.1/health\"")
	} else if s, ok := r.str(p+".url", t.URL); ok {
		u, err := url.Parse(s)
		switch {
		case err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https":
			r.fail(p+".url", "%q is not an http:// or https:// URL with a host", s)
		case u.Port() != "" && !validPort(u.Port()):
			r.fail(p+".url", "%q: port %s is out of range", s, u.Port())
		default:
			a.URL = s
		}
	}
	if s, ok := r.oneOf(p+".method", t.Method, false, "GET", "HEAD"); ok {
		a.Method = s
	}
	if n, ok := r.integer(p+".expect_status", t.ExpectStatus, false); ok {
		if n < 100 || n > 599 {
			r.fail(p+".expect_status", "%d is not an HTTP status: want 100 to 599", n)
		} else {
			a.ExpectStatus = int(n)
		}
	}
	if s, ok := r.str(p+".expect_body", t.ExpectBody); ok {
		switch {
		case s == "":
			r.fail(p+".expect_body", "must not be empty: leave it out to accept any body")
		case a.Method == "HEAD":
			r.fail(p+".expect_body", "a HEAD request has no body: use method \"GET\"")
		default:
			a.ExpectBody = s
		}
	}
	if b, ok := r.boolean(p+".tls_skip_verify", t.TLSSkipVerify); ok {
		a.TLSSkipVerify = b
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

func (r *reader) readTCP(p string, t tomlAgent, a *Agent) {
	if t.Address == nil {
		r.fail(p+".address", "required: \"host:port\", like \"127.0.0.1:5432\"")
		return
	}
	s, ok := r.str(p+".address", t.Address)
	if !ok {
		return
	}
	host, port, err := net.SplitHostPort(s)
	switch {
	case err != nil || host == "":
		r.fail(p+".address", "%q is not host:port, like \"127.0.0.1:5432\" or \"[::1]:5432\"", s)
	case !validPort(port):
		r.fail(p+".address", "%q: want a port from 1 to 65535", s)
	default:
		a.Address = s
	}
}

func (r *reader) readGateway(p string, t tomlAgent, a *Agent) {
	if t.Address == nil {
		r.fail(p+".address", "required: the gateway's IP address, like \"10.213.0.254\"")
	} else if s, ok := r.str(p+".address", t.Address); ok {
		ip, err := netip.ParseAddr(s)
		switch {
		case err != nil || ip.Zone() != "":
			r.fail(p+".address", "%q is not an IP address (no host names, no zone)", s)
		case ip.IsUnspecified() || ip.IsMulticast():
			r.fail(p+".address", "%s cannot answer an echo request as a gateway", s)
		default:
			a.Address = ip.Unmap().String()
		}
	}
	a.Count = r.count(p+".count", t.Count, a.Count, maxPingCount)
}

func (r *reader) readLink(p string, t tomlAgent, a *Agent) {
	if t.Interface == nil {
		r.fail(p+".interface", "required: the interface to watch, like \"eth0\"")
		return
	}
	if s, ok := r.str(p+".interface", t.Interface); ok {
		if s == "" || len(s) > maxIfNameLen || strings.ContainsAny(s, "/:") || strings.IndexFunc(s, notGraphic) >= 0 {
			r.fail(p+".interface", "%q is not an interface name: 1 to %d characters, no '/', ':' or spaces", s, maxIfNameLen)
		} else {
			a.Interface = s
		}
	}
}

// readThresholds reads warning_percent and error_percent. The kind's
// defaults hold only when neither is written: writing one says which
// alarms the operator wants.
func (r *reader) readThresholds(p string, t tomlAgent, a *Agent) {
	if a.Kind == KindDisk {
		if s, ok := r.str(p+".path", t.Path); ok {
			if !filepath.IsAbs(s) {
				r.fail(p+".path", "%q: want an absolute path on the file system to watch, like \"/var\"", s)
			} else {
				a.Path = filepath.Clean(s)
			}
		}
	}
	if t.WarnPercent == nil && t.ErrorPercent == nil {
		return
	}
	a.WarnPercent, a.ErrorPercent = 0, 0
	wOK := r.percent(p+".warning_percent", t.WarnPercent, &a.WarnPercent)
	eOK := r.percent(p+".error_percent", t.ErrorPercent, &a.ErrorPercent)
	switch {
	case !wOK || !eOK:
	case a.WarnPercent == 0 && a.ErrorPercent == 0:
		r.fail(r.blame(p+".error_percent", p+".warning_percent"), "both thresholds are off (0): the agent would check nothing")
	case a.WarnPercent > 0 && a.ErrorPercent > 0 && a.WarnPercent >= a.ErrorPercent:
		r.fail(r.blame(p+".warning_percent", p+".error_percent"), "warning_percent (%g) must be below error_percent (%g)", a.WarnPercent, a.ErrorPercent)
	}
}

// percent reads a threshold from 0 (off) to 100, integer or float.
func (r *reader) percent(path string, v any, dst *float64) bool {
	var f float64
	switch x := v.(type) {
	case nil:
		return true
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		r.fail(path, "want a number, got %s", tomlType(v))
		return false
	}
	if math.IsNaN(f) || f < 0 || f > 100 {
		r.fail(path, "%v is out of range: want 0 (off) to 100", f)
		return false
	}
	*dst = f
	return true
}

// readCommand reads an exec or daemon agent's command. Without one, the
// agent is the program of its name in the agents directory (NAME for exec,
// NAME.daemon for daemon), so that a dropped-in file can be configured.
func (r *reader) readCommand(p string, t tomlAgent, a *Agent, agentsDir string) {
	if t.Command == nil {
		switch {
		case agentsDir == "":
			r.fail(p+".command", "required: the program and its arguments, like [\"/usr/lib/nagios/plugins/check_tcp\", \"-H\", \"127.0.0.1\", \"-p\", \"80\"] (or set agents_dir and put the program there)")
		case a.Name != "":
			file := a.Name
			if a.Kind == KindDaemon {
				file += DaemonSuffix
			}
			a.Command = []string{filepath.Join(agentsDir, file)}
		}
		return
	}
	list, ok := t.Command.([]any)
	if !ok {
		r.fail(p+".command", "want an array of strings, like [\"/usr/bin/check\", \"-v\"], got %s", tomlType(t.Command))
		return
	}
	argv := make([]string, 0, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			r.fail(fmt.Sprintf("%s.command[%d]", p, i), "want a string, got %s", tomlType(v))
			return
		}
		if strings.IndexByte(s, 0) >= 0 {
			r.fail(fmt.Sprintf("%s.command[%d]", p, i), "must not contain a NUL byte")
			return
		}
		argv = append(argv, s)
	}
	if len(argv) == 0 || argv[0] == "" {
		r.fail(p+".command", "the program is missing: want [\"/path/to/program\", args…]")
		return
	}
	// A program with a '/' is a path, relative to this file like every
	// path here; a bare name is looked up in PATH when it runs ("sh").
	if strings.ContainsRune(argv[0], '/') {
		argv[0] = r.resolve(argv[0])
	}
	a.Command = argv
}

// DaemonSuffix marks a program of the agents directory as kind daemon.
const DaemonSuffix = ".daemon"

// validateAgents checks what ties agents together: unique names, their
// number, and timeouts against intervals.
func (r *reader) validateAgents(cfg *Config) {
	names := map[string]string{}
	for i, a := range cfg.Agents {
		p := fmt.Sprintf("agent[%d]", i)
		if a.Kind != "" && a.Kind != KindDaemon && r.ok(p+".interval", p+".timeout") && a.Timeout > a.Interval {
			r.c.add(r.blame(p+".timeout", p+".interval"), "timeout (%s) must not exceed interval (%s): a check would still run when the next is due", a.Timeout, a.Interval)
		}
		if a.Name == "" {
			continue
		}
		if first, dup := names[a.Name]; dup {
			r.c.add(p+".name", "agent name %q is already used by %s", a.Name, first)
			continue
		}
		names[a.Name] = p
	}
	if n := len(cfg.Agents); n > MaxAgents {
		r.c.add(fmt.Sprintf("agent[%d]", MaxAgents), "%d agents: at most %d are allowed, with the agents directory's", n, MaxAgents)
	}
}
