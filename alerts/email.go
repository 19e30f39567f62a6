package alerts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/rs/zerolog"
)

// email sends the alert over SMTP (alerts.email): one connection per
// alert, bounded as a whole by the delivery's context.
//
// After EHLO it upgrades with STARTTLS when the server offers it, and
// verifies the server's certificate against the system roots. A server
// whose certificate does not verify (a self-signed relay on the LAN)
// still gets the alert, over a new plain-text connection, with a warning
// in the log: the alert matters more than its secrecy, and there are no
// credentials to protect, since had does not authenticate (config has no
// SMTP user or password; the relay must accept mail from the node).
type email struct {
	server string
	from   string   // header form
	to     []string // header form
	log    zerolog.Logger
	host   string      // EHLO name and Message-ID domain
	tls    *tls.Config // nil: system roots, server name from server
	now    func() time.Time
}

func newEmail(c config.Email, log zerolog.Logger) *email {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &email{server: c.Server, from: c.From, to: c.To, log: log, host: host, now: time.Now}
}

func (*email) name() string { return "email" }

func (m *email) deliver(ctx context.Context, a alert) error {
	msg := compose(a, m.from, m.to, m.now(), fmt.Sprintf("%d.%016x", m.now().UnixNano(), rand.Uint64()), m.host)
	_, err := m.send(ctx, msg, true)
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		m.log.Warn().Err(err).Str("server", m.server).Msg("smtp certificate not valid, sending without tls")
		_, err = m.send(ctx, msg, false)
	}
	return err
}

// send delivers msg on one SMTP connection; secure tells whether it went
// over TLS.
func (m *email) send(ctx context.Context, msg []byte, tryTLS bool) (secure bool, err error) {
	from, err := mail.ParseAddress(m.from)
	if err != nil {
		return false, fmt.Errorf("parse sender: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.server)
	if err != nil {
		return false, fmt.Errorf("dial smtp server: %w", err)
	}
	// The deadline bounds every read and write of the conversation, and
	// a cancelled context (Close giving up) ends it at once.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	host, _, _ := net.SplitHostPort(m.server)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return false, fmt.Errorf("greet smtp server: %w", err)
	}
	defer c.Close()
	if err := c.Hello(m.host); err != nil {
		return false, fmt.Errorf("send ehlo: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && tryTLS {
		cfg := m.tls
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
		if err := c.StartTLS(cfg); err != nil {
			return false, fmt.Errorf("start tls: %w", err)
		}
		secure = true
	}
	if err := c.Mail(from.Address); err != nil {
		return secure, fmt.Errorf("send mail from: %w", err)
	}
	for _, t := range m.to {
		to, err := mail.ParseAddress(t)
		if err != nil {
			return secure, fmt.Errorf("parse recipient: %w", err)
		}
		if err := c.Rcpt(to.Address); err != nil {
			return secure, fmt.Errorf("send rcpt to %s: %w", to.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return secure, fmt.Errorf("send data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return secure, fmt.Errorf("send message: %w", err)
	}
	if err := w.Close(); err != nil {
		return secure, fmt.Errorf("send message: %w", err)
	}
	if err := c.Quit(); err != nil {
		// The server has taken the message (it answered the data); a
		// failed goodbye does not undo that.
		m.log.Debug().Err(err).Msg("smtp quit failed")
	}
	return secure, nil
}
