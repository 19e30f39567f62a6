package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"time"
)

// Admin configures the admin server (SPEC §7): the console's endpoint.
type Admin struct {
	// Socket is the unix socket of the console (hactl, the live view).
	Socket string
	// Group may use the socket besides root ("had" by default; when no such
	// group exists, root only).
	Group string
	// Listen, when set, also serves HTTP on this TCP address: remote use is
	// opt-in, and every request must carry the token of TokenFile.
	Listen    string
	TokenFile string
	// Web serves the web console on Listen; Metrics serves Prometheus
	// /metrics there.
	Web     bool
	Metrics bool
	// Peer is the peer's Listen address: with it the console shows both
	// nodes (the same token is used).
	Peer string
	// History is how long the server keeps samples for the plots.
	History time.Duration
}

// Admin server defaults.
const (
	DefaultAdminSocket  = "/run/had/admin.sock"
	DefaultAdminGroup   = "had"
	DefaultAdminHistory = 10 * time.Minute
)

// Alerts configures how the admin server tells operators (SPEC §7): every
// alert names the node, the event and the time; it is always logged, and
// sent on the channels configured here, each within its timeout and never
// on the path of a takeover.
type Alerts struct {
	// MinLevel: events below it (info < warning < error) are only logged.
	MinLevel string
	// RateLimit: one kind of event is sent at most once per RateLimit per
	// channel; what is held back is counted in the next message.
	RateLimit time.Duration
	Timeout   time.Duration // one delivery on one channel
	Beep      bool          // ring the terminal bell of the console
	Command   string        // user command, /bin/sh -c, with HAD_ALERT_* variables
	Email     Email
	SMS       SMS
}

// Email is the SMTP channel.
type Email struct {
	Server string   // host:port of the SMTP server
	From   string   // sender address
	To     []string // recipients; empty: no email
}

// SMS is the text-message channel: a command, or an HTTP endpoint that is
// POSTed a JSON message.
type SMS struct {
	Command string // /bin/sh -c, with HAD_ALERT_* variables and the text on stdin
	URL     string
}

// Alert defaults.
const (
	DefaultAlertLevel   = "warning"
	DefaultRateLimit    = time.Minute
	DefaultAlertTimeout = 10 * time.Second
)

var alertLevels = []string{"info", "warning", "error"}

type tomlAdmin struct {
	Socket    any `toml:"socket"`
	Group     any `toml:"group"`
	Listen    any `toml:"listen"`
	TokenFile any `toml:"token_file"`
	Web       any `toml:"web"`
	Metrics   any `toml:"metrics"`
	Peer      any `toml:"peer"`
	History   any `toml:"history"`
}

type tomlAlerts struct {
	MinLevel  any       `toml:"min_level"`
	RateLimit any       `toml:"rate_limit"`
	Timeout   any       `toml:"timeout"`
	Beep      any       `toml:"beep"`
	Command   any       `toml:"command"`
	Email     tomlEmail `toml:"email"`
	SMS       tomlSMS   `toml:"sms"`
}

type tomlEmail struct {
	Server any `toml:"server"`
	From   any `toml:"from"`
	To     any `toml:"to"`
}

type tomlSMS struct {
	Command any `toml:"command"`
	URL     any `toml:"url"`
}

// DefaultAdmin returns the admin server's defaults: the local socket only.
func DefaultAdmin() Admin {
	return Admin{Socket: DefaultAdminSocket, Group: DefaultAdminGroup, History: DefaultAdminHistory}
}

// DefaultAlerts returns the alert defaults: warnings and errors, logged only.
func DefaultAlerts() Alerts {
	return Alerts{MinLevel: DefaultAlertLevel, RateLimit: DefaultRateLimit, Timeout: DefaultAlertTimeout}
}

// readAdmin reads [admin] and [alerts].
func (r *reader) readAdmin(f *tomlFile, cfg *Config) {
	cfg.Admin, cfg.Alerts = DefaultAdmin(), DefaultAlerts()
	a := &cfg.Admin
	r.path("admin.socket", f.Admin.Socket, false, &a.Socket)
	if s, ok := r.str("admin.group", f.Admin.Group); ok {
		a.Group = s
	}
	if s, ok := r.str("admin.listen", f.Admin.Listen); ok {
		if _, _, err := net.SplitHostPort(s); err != nil || s == "" {
			r.fail("admin.listen", "%q is not host:port, like \"10.213.0.1:8443\"", s)
		} else {
			a.Listen = s
		}
	}
	r.path("admin.token_file", f.Admin.TokenFile, false, &a.TokenFile)
	if b, ok := r.boolean("admin.web", f.Admin.Web); ok {
		a.Web = b
	}
	if b, ok := r.boolean("admin.metrics", f.Admin.Metrics); ok {
		a.Metrics = b
	}
	if s, ok := r.str("admin.peer", f.Admin.Peer); ok {
		if _, _, err := net.SplitHostPort(s); err != nil || s == "" {
			r.fail("admin.peer", "%q is not host:port, like \"10.213.0.2:8443\"", s)
		} else {
			a.Peer = s
		}
	}
	r.duration("admin.history", f.Admin.History, &a.History)

	al := &cfg.Alerts
	if s, ok := r.oneOf("alerts.min_level", f.Alerts.MinLevel, false, alertLevels...); ok {
		al.MinLevel = s
	}
	r.duration("alerts.rate_limit", f.Alerts.RateLimit, &al.RateLimit)
	r.duration("alerts.timeout", f.Alerts.Timeout, &al.Timeout)
	if b, ok := r.boolean("alerts.beep", f.Alerts.Beep); ok {
		al.Beep = b
	}
	if s, ok := r.str("alerts.command", f.Alerts.Command); ok {
		al.Command = s
	}
	if s, ok := r.str("alerts.email.server", f.Alerts.Email.Server); ok {
		if _, _, err := net.SplitHostPort(s); err != nil {
			r.fail("alerts.email.server", "%q is not host:port, like \"127.0.0.1:25\"", s)
		} else {
			al.Email.Server = s
		}
	}
	if s, ok := r.str("alerts.email.from", f.Alerts.Email.From); ok {
		if _, err := mail.ParseAddress(s); err != nil {
			r.fail("alerts.email.from", "%q is not an email address", s)
		} else {
			al.Email.From = s
		}
	}
	if f.Alerts.Email.To != nil {
		list, ok := f.Alerts.Email.To.([]any)
		if !ok {
			r.fail("alerts.email.to", "want a list of addresses, got %s", tomlType(f.Alerts.Email.To))
		}
		for i, v := range list {
			s, ok := v.(string)
			if _, err := mail.ParseAddress(s); !ok || err != nil {
				r.fail("alerts.email.to", "entry %d (%v) is not an email address", i+1, v)
				continue
			}
			al.Email.To = append(al.Email.To, s)
		}
	}
	if s, ok := r.str("alerts.sms.command", f.Alerts.SMS.Command); ok {
		al.SMS.Command = s
	}
	if s, ok := r.str("alerts.sms.url", f.Alerts.SMS.URL); ok {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("alerts.sms.url", "%q is not an http:// or https:// URL", s)
		} else {
			al.SMS.URL = s
		}
	}
}

// validateAdmin checks what [admin] and [alerts] need of each other.
func (r *reader) validateAdmin(cfg *Config) {
	a := cfg.Admin
	switch {
	case a.Listen != "" && a.TokenFile == "" && r.ok("admin.listen", "admin.token_file"):
		r.c.add("admin.listen", "remote use needs admin.token_file: every request must carry its token")
	case a.Listen == "" && (a.Web || a.Metrics) && r.ok("admin.web", "admin.metrics"):
		r.c.add(r.blame("admin.web", "admin.metrics"), "the web console and /metrics are served on admin.listen, which is not set")
	case a.Peer != "" && a.TokenFile == "" && r.ok("admin.peer"):
		r.c.add("admin.peer", "asking the peer needs admin.token_file (the same token on both nodes)")
	}
	e := cfg.Alerts.Email
	if (e.Server != "" || e.From != "" || len(e.To) > 0) && (e.Server == "" || e.From == "" || len(e.To) == 0) &&
		r.ok("alerts.email.server", "alerts.email.from", "alerts.email.to") {
		r.c.add(r.blame("alerts.email.server", "alerts.email.to"), "email needs server, from and to: %s", missingEmail(e))
	}
	if cfg.Alerts.SMS.Command != "" && cfg.Alerts.SMS.URL != "" && r.ok("alerts.sms.command", "alerts.sms.url") {
		r.c.add("alerts.sms.url", "set either alerts.sms.command or alerts.sms.url, not both")
	}
}

func missingEmail(e Email) string {
	var miss []string
	if e.Server == "" {
		miss = append(miss, "server")
	}
	if e.From == "" {
		miss = append(miss, "from")
	}
	if len(e.To) == 0 {
		miss = append(miss, "to")
	}
	return fmt.Sprintf("missing %v", miss)
}
