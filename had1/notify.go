package had1

import (
	"os"
	"strconv"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// Notifier tells a service manager how had1 is doing, in sd_notify(3)'s
// "KEY=value" lines: READY=1, STATUS=…, WATCHDOG=1, RELOADING=1,
// STOPPING=1, MAINPID=…. had1 declares it; Systemd is the real one.
type Notifier interface {
	Notify(state string) error
}

// Systemd notifies systemd through $NOTIFY_SOCKET (a Type=notify unit);
// without that variable every Notify is a no-op.
type Systemd struct{}

// Notify sends state. The variable stays set: children inherit it, so a
// had1 that had2 restarts can still tell systemd (MAINPID).
func (Systemd) Notify(state string) error {
	_, err := sd.SdNotify(false, state)
	return err
}

// EnvSupervisor names who restarts had1 when it dies. The systemd unit
// sets it to "systemd" (deploy/systemd/had.service): systemd restarts had1
// (Restart=on-failure) and watches it (WatchdogSec), so had2 must not
// restart had1 as well; two supervisors of one process race, and the
// loser makes the unit fail. Every had process inherits the variable from
// had1. Unset (the init script, a manual start), had2 restarts had1.
const EnvSupervisor = "HAD_SUPERVISOR"

// UnderSystemd reports whether had1 was started by systemd as a notify
// service.
func UnderSystemd() bool { return os.Getenv("NOTIFY_SOCKET") != "" }

// WatchdogPeriod returns the unit's watchdog period (WatchdogSec=, passed
// as WATCHDOG_USEC), 0 when there is none; had1 then sends WATCHDOG=1 from
// its main loop every half period.
//
// systemd also sets WATCHDOG_PID to the PID it started. had1's children
// inherit both variables, so a had1 started by anything but systemd (had2
// restarting a had1 that died) finds another PID there. had1 is the only
// had process that feeds the watchdog, and a had1 running on this node's
// table is the unit's main process (it says so with MAINPID), so had1
// claims the variable for itself instead of going silent and having the
// unit killed by its watchdog.
func WatchdogPeriod() (time.Duration, error) {
	if os.Getenv("WATCHDOG_USEC") == "" {
		return 0, nil
	}
	os.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	return sd.SdWatchdogEnabled(false)
}

// reloadingState is RELOADING=1 with the CLOCK_MONOTONIC timestamp systemd
// 253 and later want with it (older ones ignore the extra line).
func reloadingState() string {
	return sd.SdNotifyReloading + "\n" + sd.SdNotifyMonotonicUsec()
}
