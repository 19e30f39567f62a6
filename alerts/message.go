package alerts

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// alert is what a channel delivers: the event, and how many events of
// the same key the rate limit held back since the last one that went out.
type alert struct {
	Event
	held  int       // events held back since `since`, not counting this one
	since time.Time // when the last alert of this key went out
}

// shortLen is the length of an sms: one GSM 03.38 message.
const shortLen = 160

// stamp formats a time for alerts: UTC, to the second, so that two
// nodes' alerts compare at a glance.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// note is " (N more since T)" when events were held back, else "".
func (a alert) note() string {
	if a.held <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%d more since %s)", a.held, stamp(a.since))
}

// line is the one-line alert, the email's subject:
// "had alpha: warning: heartbeat path lan down at 2026-11-22T02:00:00Z".
func (a alert) line() string {
	return a.head() + oneLine(a.Text) + " at " + stamp(a.Time) + a.note()
}

func (a alert) head() string {
	return "had " + oneLine(a.Node) + ": " + oneLine(a.Level) + ": "
}

// short is line cut to one sms.
func (a alert) short() string { return a.fit(shortLen) }

// fit is line in at most n characters: the text is shortened, not the
// node, the time or the count of held alerts (unless the node's name
// alone is too long).
func (a alert) fit(n int) string {
	text := oneLine(a.Text)
	tail := " at " + stamp(a.Time) + a.note()
	room := n - utf8.RuneCountInString(a.head()) - utf8.RuneCountInString(tail)
	if utf8.RuneCountInString(text) > room {
		text = cut(text, room-1) + "…"
	}
	return cut(a.head()+text+tail, n)
}

// body is the plain-text body of the email.
func (a alert) body() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node:  %s\n", oneLine(a.Node))
	fmt.Fprintf(&b, "level: %s\n", oneLine(a.Level))
	fmt.Fprintf(&b, "kind:  %s\n", oneLine(a.Kind))
	fmt.Fprintf(&b, "time:  %s\n", stamp(a.Time))
	if a.held > 0 {
		fmt.Fprintf(&b, "held:  %d more of the same since %s (rate limit)\n", a.held, stamp(a.since))
	}
	b.WriteString("\n")
	b.WriteString(bodyText(a.Text))
	b.WriteString("\n")
	return b.String()
}

// bodyText is the text for a body: valid UTF-8, with every line end
// (CRLF or a lone CR) made LF, so that no bare CR reaches the mail.
func bodyText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// env is the environment the sms and alert commands get, on top of had's.
func (a alert) env() []string {
	return []string{
		"HAD_ALERT_NODE=" + oneLine(a.Node),
		"HAD_ALERT_LEVEL=" + oneLine(a.Level),
		"HAD_ALERT_KIND=" + oneLine(a.Kind),
		"HAD_ALERT_TIME=" + stamp(a.Time),
		"HAD_ALERT_TEXT=" + oneLine(a.Text),
	}
}

// oneLine makes s safe for one line (a header, a subject, an sms):
// control characters, CR and LF among them, become spaces, so that no
// event text can add a header or a line.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// cut returns at most n runes of s.
func cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
