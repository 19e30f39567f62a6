package tables

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Service entries: a systemd unit or an LSB init script.
//
//	service unit=nginx.service        [name=…] [timeout=10s]
//	service lsb=/etc/init.d/websvc    [name=…] [timeout=10s]
//
// The name defaults to the unit (nginx.service) or the script's file name
// (websvc). Commands go through the Runner (/bin/sh -c, own process group,
// killed on timeout):
//
//	systemd: systemctl is-active --quiet UNIT | systemctl start UNIT | systemctl stop UNIT
//	LSB:     SCRIPT status                    | SCRIPT start         | SCRIPT stop
//
// Start asks the status first and skips the start when it exits 0
// (running); else it starts. Stop always stops (an LSB script's stop, like
// systemctl stop, succeeds on a stopped service), then asks the status,
// which must say "not running": any non-zero exit of is-active (3 inactive
// or failed, 4 no such unit); for LSB 1 (dead, pid file left), 2 (dead, lock
// file left) or 3 (not running). LSB 4 ("unknown") or anything else fails
// the stop, since had cannot tell that the service is down, and the peer
// must not start it while it may still run.
//
// systemctl start and stop wait for the unit's job to finish, so the
// timeout must cover the unit's own start and stop (TimeoutStartSec…).

type serviceEntry struct {
	base
	unit string // systemd; or
	lsb  string // the init script's path
}

// systemdUnit is what systemd accepts in a unit name (unit_name_is_valid):
// letters, digits and ":-_.\@", at most 255 characters.
var systemdUnit = regexp.MustCompile(`^[A-Za-z0-9:_.\\@-]{1,255}$`)

func parseService(r *rawEntry) Entry {
	s := &serviceEntry{}
	if len(r.args) > 0 {
		r.errorf("syntax", "service takes only options, got arguments %q (unit=… or lsb=…)", r.args)
	}
	unit, hasUnit := r.take("unit")
	lsb, hasLSB := r.take("lsb")
	defName := ""
	switch {
	case hasUnit && hasLSB:
		r.errorf("unit", "give unit= (systemd) or lsb= (init script), not both")
	case hasUnit:
		switch {
		case !systemdUnit.MatchString(unit):
			r.errorf("unit", "%q is not a systemd unit name (letters, digits and :-_.\\@)", unit)
		case strings.HasPrefix(unit, "-"):
			r.errorf("unit", "%q starts with '-' (systemctl would take it for an option)", unit)
		default:
			s.unit, defName = unit, unit
		}
	case hasLSB:
		switch {
		case !path.IsAbs(lsb) || path.Clean(lsb) != lsb || strings.HasSuffix(lsb, "/"):
			r.errorf("lsb", "%q is not a clean absolute path, e.g. /etc/init.d/websvc", lsb)
		case strings.ContainsAny(lsb, "\n\x00"):
			r.errorf("lsb", "%q contains a newline", lsb)
		default:
			s.lsb, defName = lsb, path.Base(lsb)
		}
	default:
		r.errorf("unit", "required: unit=NAME.service (systemd) or lsb=/etc/init.d/SCRIPT")
	}
	if !r.given("name") && defName != "" && !entryName.MatchString(defName) {
		r.errorf("name", "required: %q is not a valid entry name (letters, digits and _.:@-, at most 64)", defName)
	}
	s.base = r.base(defName)
	s.named = s.named && s.name != defName
	if s.name == "" {
		s.name = "service" // only when unit or lsb is bad, which is reported
	}
	return s
}

func (s *serviceEntry) Kind() Kind { return KindService }

func (s *serviceEntry) String() string {
	w := []string{string(KindService)}
	if s.unit != "" {
		w = append(w, "unit="+quote(s.unit))
	} else {
		w = append(w, "lsb="+quote(s.lsb))
	}
	return strings.Join(append(w, s.words()...), " ")
}

// command returns the shell command of op: "start", "stop" or "status".
func (s *serviceEntry) command(op string) Command {
	var sh string
	if s.unit != "" {
		verb := op
		if op == "status" {
			verb = "is-active --quiet"
		}
		sh = "systemctl " + verb + " " + shQuote(s.unit)
	} else {
		sh = shQuote(s.lsb) + " " + op
	}
	return Command{Name: s.name, Op: op, Shell: sh}
}

func (s *serviceEntry) Start(ctx context.Context, env *Env) error {
	if env.Runner == nil {
		return fmt.Errorf("%w: service needs Runner", ErrMissingDep)
	}
	if env.Runner.Run(ctx, s.command("status")) == nil {
		return nil // running already
	}
	// Not running, or the status could not tell: start either way, since
	// start succeeds on a running service.
	if err := env.Runner.Run(ctx, s.command("start")); err != nil {
		return fmt.Errorf("run start: %w", err)
	}
	return nil
}

func (s *serviceEntry) Stop(ctx context.Context, env *Env) error {
	if env.Runner == nil {
		return fmt.Errorf("%w: service needs Runner", ErrMissingDep)
	}
	if err := env.Runner.Run(ctx, s.command("stop")); err != nil {
		return fmt.Errorf("run stop: %w", err)
	}
	err := env.Runner.Run(ctx, s.command("status"))
	exit, isExit := errors.AsType[*ExitError](err)
	switch {
	case err == nil:
		return fmt.Errorf("status exited 0: %w", ErrStillRunning)
	case !isExit:
		return fmt.Errorf("run status after stop: %w", err)
	case s.unit != "" && exit.Code > 0:
		return nil
	case exit.Code >= 1 && exit.Code <= 3:
		return nil
	default:
		return fmt.Errorf("status after stop cannot tell (%w); want 1, 2 or 3 (LSB: not running)", err)
	}
}
