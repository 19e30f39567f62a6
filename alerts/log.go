package alerts

import (
	"context"

	"github.com/rs/zerolog"
)

// logChannel writes every event as one zerolog line "alert", at the
// event's level. Its fields are prefixed "alert_" where the root logger
// already has the name: its "node" is the node that logs, and zerolog's
// "level" is its own.
type logChannel struct{ log zerolog.Logger }

func newLog(log zerolog.Logger) *logChannel { return &logChannel{log: log} }

func (*logChannel) name() string { return "log" }

func (c *logChannel) deliver(_ context.Context, a alert) error {
	var ev *zerolog.Event
	switch rank(a.Level) {
	case 0:
		ev = c.log.Info()
	case 1:
		ev = c.log.Warn()
	default:
		ev = c.log.Error()
	}
	ev.Str("alert_node", a.Node).Str("alert_level", a.Level).Str("kind", a.Kind).
		Str("text", a.Text).Time("at", a.Time).Msg("alert")
	return nil
}
