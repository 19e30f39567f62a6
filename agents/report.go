package agents

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hadcluster/had/shm"
)

// ReportUsage is the usage line of ReportCommand, for the program that
// exposes it (`hactl report`).
const ReportUsage = "report ok|info|warning|error [MESSAGE…]"

// ReportCommand writes one result to the calling daemon agent's slot, for
// shell scripts that had1 runs as daemon agents (`hactl report`):
//
//	while sleep 1; do
//		if pg_isready -q; then hactl report ok "accepting"; else hactl report error "not accepting"; fi
//	done
//
// args are the value (ok, info, warning or error, any case) and the
// message words, joined by spaces. The slot and interval come from the
// environment had1 set (HAD_SHM, HAD_AGENT_SLOT, HAD_AGENT_INTERVAL). One
// call is one write: it takes the slot's lock for the write, bumps the
// counter and rings had2's bell when the value changed. It fails while
// another process (a Reporter) holds the slot.
func ReportCommand(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: %s", ReportUsage)
	}
	var v shm.Value
	switch strings.ToLower(args[0]) {
	case "ok":
		v = shm.OK
	case "info", "information":
		v = shm.Information
	case "warning", "warn":
		v = shm.Warning
	case "error", "critical":
		v = shm.Error
	default:
		return fmt.Errorf("report %q: %w (usage: %s)", args[0], ErrBadValue, ReportUsage)
	}
	r, err := OpenReporter()
	if err != nil {
		if errors.Is(err, shm.ErrLocked) {
			return fmt.Errorf("%w: another process of the agent holds its slot", err)
		}
		return err
	}
	defer r.Close()
	return r.Report(v, strings.Join(args[1:], " "))
}
