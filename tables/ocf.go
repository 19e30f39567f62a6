package tables

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// OCF entries: an OCF resource agent, as Pacemaker runs them.
//
//	ocf agent=PROVIDER:TYPE name=NAME [ocf_root=/usr/lib/ocf] [timeout=10s] [KEY=VALUE…]
//	ocf agent=heartbeat:Dummy name=dummy1 state=/run/had/dummy1.state
//
// The agent is $OCF_ROOT/resource.d/PROVIDER/TYPE, run through the Runner
// (/bin/sh -c, own process group, killed on timeout) with the action as its
// argument and this environment added to had's:
//
//	OCF_ROOT                    ocf_root=, default /usr/lib/ocf
//	OCF_RA_VERSION_MAJOR/MINOR  1, 0
//	OCF_RESOURCE_INSTANCE       the entry's name
//	OCF_RESOURCE_PROVIDER/TYPE  from agent=
//	OCF_RESKEY_CRM_meta_timeout the entry's timeout in milliseconds, as
//	                            Pacemaker sets it (agents size their waits by it)
//	OCF_RESKEY_KEY=VALUE        every other option; reskey_KEY=VALUE passes a
//	                            parameter whose name had uses itself (name,
//	                            timeout, agent, ocf_root)
//
// Exit codes are the OCF ones (ocfCodes). Start runs monitor first: 0 means
// running, and nothing more is done; 7 (OCF_NOT_RUNNING) leads to start;
// 1 (OCF_ERR_GENERIC, "failed") to stop then start, as Pacemaker recovers a
// failed resource; any other code fails the step at once (2 ERR_ARGS,
// 5 ERR_INSTALLED, 6 ERR_CONFIGURED… cannot be cured by starting). After
// start, monitor must say running. Stop runs stop (the OCF spec requires a
// stop of a stopped resource to succeed), then monitor must say 7. Each
// step's actions share the entry's timeout.

type ocfEntry struct {
	base
	provider, typ string
	root          string
	params        []option // in line order; key as written

	mu     sync.Mutex
	runner Runner // the last Start's or Stop's, for Monitor
}

// DefaultOCFRoot is where resource-agents installs the agents.
const DefaultOCFRoot = "/usr/lib/ocf"

// The OCF exit codes (OCF Resource Agent API 1.1, "Return codes").
const (
	ocfSuccess        = 0
	ocfErrGeneric     = 1
	ocfNotRunning     = 7
	ocfRunningPromote = 8
	ocfDegraded       = 190
	ocfDegradedPromo  = 191
)

var ocfCodes = map[int]string{
	0:   "OCF_SUCCESS",
	1:   "OCF_ERR_GENERIC",
	2:   "OCF_ERR_ARGS",
	3:   "OCF_ERR_UNIMPLEMENTED",
	4:   "OCF_ERR_PERM",
	5:   "OCF_ERR_INSTALLED",
	6:   "OCF_ERR_CONFIGURED",
	7:   "OCF_NOT_RUNNING",
	8:   "OCF_RUNNING_PROMOTED",
	9:   "OCF_FAILED_PROMOTED",
	190: "OCF_DEGRADED",
	191: "OCF_DEGRADED_PROMOTED",
}

// OCFCodeName names an OCF exit code ("OCF_ERR_INSTALLED"), or "" for a
// code the spec does not define.
func OCFCodeName(code int) string { return ocfCodes[code] }

// ocfName is a provider or type: a file name, so no '/' and no "..".
var ocfName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

func parseOCF(r *rawEntry) Entry {
	o := &ocfEntry{}
	if len(r.args) > 0 {
		r.errorf("syntax", "ocf takes only options, got arguments %q (agent=PROVIDER:TYPE …)", r.args)
	}
	if !r.given("name") {
		r.errorf("name", "required (it is OCF_RESOURCE_INSTANCE)")
	}
	o.base = r.base("ocf")
	if a := r.str("agent", true); a != "" {
		prov, typ, ok := strings.Cut(a, ":")
		switch {
		case !ok || !ocfName.MatchString(prov) || !ocfName.MatchString(typ):
			r.errorf("agent", "%q is not PROVIDER:TYPE, e.g. heartbeat:Dummy", a)
		default:
			o.provider, o.typ = prov, typ
		}
	}
	o.root = DefaultOCFRoot
	if v, ok := r.take("ocf_root"); ok {
		if !path.IsAbs(v) || path.Clean(v) != v {
			r.errorf("ocf_root", "%q is not a clean absolute path", v)
		}
		o.root = v
	}
	seen := map[string]string{}
	for _, opt := range r.opts {
		if r.used[opt.key] {
			continue
		}
		r.used[opt.key] = true
		k := strings.TrimPrefix(opt.key, "reskey_")
		if k == "" {
			r.errorf(opt.key, "no parameter name after reskey_")
			continue
		}
		if prev, ok := seen[k]; ok {
			r.errorf(opt.key, "parameter %q given twice (also as %s=)", k, prev)
			continue
		}
		seen[k] = opt.key
		o.params = append(o.params, opt)
	}
	return o
}

func (o *ocfEntry) Kind() Kind { return KindOCF }

func (o *ocfEntry) String() string {
	w := []string{string(KindOCF), "agent=" + quote(o.provider+":"+o.typ)}
	w = append(w, o.words()...)
	if o.root != DefaultOCFRoot {
		w = append(w, "ocf_root="+quote(o.root))
	}
	for _, p := range o.params {
		w = append(w, p.key+"="+quote(p.val))
	}
	return strings.Join(w, " ")
}

// agent returns the path of the agent.
func (o *ocfEntry) agent() string { return path.Join(o.root, "resource.d", o.provider, o.typ) }

// command returns the command that runs action.
func (o *ocfEntry) command(action string) Command {
	env := []string{
		"OCF_ROOT=" + o.root,
		"OCF_RA_VERSION_MAJOR=1",
		"OCF_RA_VERSION_MINOR=0",
		"OCF_RESOURCE_INSTANCE=" + o.name,
		"OCF_RESOURCE_PROVIDER=" + o.provider,
		"OCF_RESOURCE_TYPE=" + o.typ,
		"OCF_RESKEY_CRM_meta_timeout=" + strconv.FormatInt(o.timeout.Milliseconds(), 10),
	}
	for _, p := range o.params {
		env = append(env, "OCF_RESKEY_"+strings.TrimPrefix(p.key, "reskey_")+"="+p.val)
	}
	return Command{Name: o.name, Op: action, Shell: shQuote(o.agent()) + " " + action, Env: env}
}

// run runs action; a non-zero exit is an error naming its OCF code.
func (o *ocfEntry) run(ctx context.Context, r Runner, action string) error {
	err := r.Run(ctx, o.command(action))
	if ee, ok := errors.AsType[*ExitError](err); ok {
		if n := OCFCodeName(ee.Code); n != "" {
			return fmt.Errorf("%s: %s: %w", action, n, err)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return nil
}

// monitor runs the monitor action: running for 0 (and the promoted and
// degraded forms of running), not running for 7, an error otherwise.
func (o *ocfEntry) monitor(ctx context.Context, r Runner) (bool, error) {
	err := r.Run(ctx, o.command("monitor"))
	if err == nil {
		return true, nil
	}
	if ee, ok := errors.AsType[*ExitError](err); ok {
		switch ee.Code {
		case ocfNotRunning:
			return false, nil
		case ocfRunningPromote, ocfDegraded, ocfDegradedPromo:
			return true, nil
		}
		if n := OCFCodeName(ee.Code); n != "" {
			return false, fmt.Errorf("monitor: %s: %w", n, err)
		}
	}
	return false, fmt.Errorf("monitor: %w", err)
}

// exitCode returns the exit code inside err, or -1.
func exitCode(err error) int {
	if ee, ok := errors.AsType[*ExitError](err); ok {
		return ee.Code
	}
	return -1
}

func (o *ocfEntry) remember(r Runner) {
	o.mu.Lock()
	o.runner = r
	o.mu.Unlock()
}

func (o *ocfEntry) Start(ctx context.Context, env *Env) error {
	if env.Runner == nil {
		return fmt.Errorf("%w: ocf needs Runner", ErrMissingDep)
	}
	o.remember(env.Runner)
	running, err := o.monitor(ctx, env.Runner)
	switch {
	case err == nil && running:
		return nil
	case err == nil:
	case exitCode(err) == ocfErrGeneric:
		// Failed (e.g. `anything` with a pid file and no process): clean
		// up before starting, as Pacemaker's recovery does.
		if err := o.run(ctx, env.Runner, "stop"); err != nil {
			return fmt.Errorf("stop the failed resource before starting it: %w", err)
		}
	default:
		return fmt.Errorf("before start: %w", err)
	}
	if err := o.run(ctx, env.Runner, "start"); err != nil {
		return err
	}
	running, err = o.monitor(ctx, env.Runner)
	switch {
	case err != nil:
		return fmt.Errorf("after start: %w", err)
	case !running:
		return errors.New("after start: monitor: OCF_NOT_RUNNING (7)")
	}
	return nil
}

func (o *ocfEntry) Stop(ctx context.Context, env *Env) error {
	if env.Runner == nil {
		return fmt.Errorf("%w: ocf needs Runner", ErrMissingDep)
	}
	o.remember(env.Runner)
	if err := o.run(ctx, env.Runner, "stop"); err != nil {
		return err
	}
	running, err := o.monitor(ctx, env.Runner)
	switch {
	case err != nil:
		return fmt.Errorf("after stop: %w", err)
	case running:
		return fmt.Errorf("monitor exited 0: %w", ErrStillRunning)
	}
	return nil
}

// Monitor runs the agent's monitor action with the Runner of the entry's
// last Start or Stop (a ShellRunner before either): running for
// OCF_SUCCESS, stopped for OCF_NOT_RUNNING, an error naming the code
// otherwise. ctx bounds it.
func (o *ocfEntry) Monitor(ctx context.Context) (bool, error) {
	o.mu.Lock()
	r := o.runner
	o.mu.Unlock()
	if r == nil {
		r = NewShellRunner()
	}
	return o.monitor(ctx, r)
}

var _ Monitorer = (*ocfEntry)(nil)
