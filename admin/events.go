package admin

import (
	"time"

	"github.com/hadcluster/had/alerts"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm/slots"
)

// Alerter takes the events operators should hear of; Send must never
// block. *alerts.Dispatcher is one: it queues, rate-limits and delivers on
// its own, so a slow channel never holds up the server.
type Alerter interface {
	Send(alerts.Event)
}

var levelRank = map[string]int{"info": 0, "warning": 1, "error": 2}

// tailer follows had2's events ring. Two cursors: the alerts', kept in the
// server's own slot (ExtraAlertSeen) so that a restarted server neither
// repeats nor skips an alert, and the memory's (transitions, metrics),
// which starts from whatever the ring holds.
type tailer struct {
	alertSeen uint64
	memSeen   uint64
}

// tail reads the events after both cursors: each new event feeds the
// server's memory and, at or above the alert level, the alerter; the
// alerts' cursor is written to own before tail returns, after each event.
func (s *Server) tail(tl *tailer, own *daemon.Slot, now int64) {
	from := min(tl.alertSeen, tl.memSeen)
	events, newest := slots.ReadEvents(s.t, from)
	if newest < tl.alertSeen { // a new table counts from 1 again
		tl.alertSeen = 0
	}
	if newest < tl.memSeen {
		tl.memSeen = 0
	}
	var fresh []slots.Event
	for _, e := range events {
		if e.N > tl.memSeen {
			fresh = append(fresh, e)
		}
		if e.N > tl.alertSeen {
			s.alert(e)
			tl.alertSeen = e.N
			own.Rec.Extra[slots.ExtraAlertSeen] = e.N
			own.Write(now)
		}
	}
	if len(fresh) > 0 {
		s.remember(fresh)
	}
	tl.memSeen = max(tl.memSeen, newest)
	if tl.alertSeen < newest {
		// The ring wrapped past events never delivered: they are lost.
		tl.alertSeen = newest
		own.Rec.Extra[slots.ExtraAlertSeen] = newest
		own.Write(now)
	}
}

// alert hands an event to the alerter when it is at or above the alert
// level, and logs it otherwise.
func (s *Server) alert(e slots.Event) {
	level := console.LevelName(e.Level)
	a := alerts.Event{Time: time.Unix(0, e.Time), Node: s.cfg.NodeName, Level: level, Kind: e.Kind.String(), Text: e.Text}
	if s.o.Alerter == nil || levelRank[level] < levelRank[s.cfg.Alerts.MinLevel] {
		s.log.Info().Uint64("n", e.N).Str("severity", level).Str("kind", a.Kind).Str("event", e.Text).Msg("event")
		return
	}
	s.o.Alerter.Send(a)
}

// remember keeps the transitions for the status and counts the events for
// the metrics.
func (s *Server) remember(events []slots.Event) {
	s.mu.Lock()
	s.transitions = console.Transitions(events, s.transitions)
	s.mu.Unlock()
	for _, e := range events {
		s.metrics.event(e)
	}
}
