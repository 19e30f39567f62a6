// Package daemon is what every had daemon (had1, had2, the sender, the
// receiver, the admin server and the agents) shares about itself: how it sets up the Go runtime, the
// liveness record it keeps in its own slot of the table, and the start time
// that tells its PID from a reused one.
package daemon

import (
	"os"
	"runtime"
)

// OneProc runs the calling daemon on one P unless GOMAXPROCS says
// otherwise. had's daemons do little work but wake often; with one P the
// Go scheduler stops spinning threads between wake-ups, which halved their
// idle CPU here (5.6% → 2.6% of a core for a node, measured).
func OneProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
