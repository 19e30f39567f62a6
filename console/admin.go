package console

import (
	"errors"
	"fmt"
	"time"

	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// ErrNoAnswer: had2 did not answer the request in time.
var ErrNoAnswer = errors.New("console: no answer from had2")

// Commands maps the console's words to admin commands.
var Commands = map[string]fsm.AdminCmd{
	"takeover": fsm.AdminTakeover,
	"standby":  fsm.AdminStandby,
	"recover":  fsm.AdminRecover,
}

// Request writes an admin request for had2 and waits for its answer. Several
// consoles may run at once: the slot's role lock makes them take turns, so
// the slot keeps one writer at a time.
func Request(t *shm.Table, cmd fsm.AdminCmd, timeout time.Duration) (Reply, error) {
	release, err := t.LockWait(shm.SlotAdmin)
	if err != nil {
		return Reply{}, fmt.Errorf("request %v: %w", cmd, err)
	}
	r, _ := t.Read(shm.SlotAdmin)
	id := slots.ParseAdmin(r).ID + 1
	t.Write(shm.SlotAdmin, slots.Admin{ID: id, Cmd: uint8(cmd)}.Record())
	release()
	t.Ring(shm.BellHad2)

	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r, err := t.Read(shm.SlotHad2)
		if err == nil || errors.Is(err, shm.ErrStale) {
			d := slots.ParseDaemon(r)
			if d.Extra[slots.ExtraReplyID] == id {
				return Reply{ID: id, OK: d.Extra[slots.ExtraReplyOK] == 1, Text: d.Text}, nil
			}
		}
		time.Sleep(5 * time.Millisecond) // had2 rings no bell for consoles; 5 ms is well below a human's notice
	}
	return Reply{ID: id}, fmt.Errorf("request %v #%d: %w after %v", cmd, id, ErrNoAnswer, timeout)
}
