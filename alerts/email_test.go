package alerts

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/rs/zerolog"
)

// python is Debian's python3, which has python3-aiosmtpd; the python3 on
// PATH may be another one without it.
const python = "/usr/bin/python3"

// smtpServer is a real SMTP server, aiosmtpd (Debian python3-aiosmtpd),
// storing what it receives in a Maildir.
type smtpServer struct {
	addr    string
	maildir string
}

// startSMTP starts aiosmtpd on a free loopback port; args are extra
// options (--tlscert …). It skips the test when aiosmtpd is missing.
func startSMTP(t *testing.T, args ...string) *smtpServer {
	t.Helper()
	if err := exec.Command(python, "-c", "import aiosmtpd").Run(); err != nil {
		t.Skipf("%s lacks aiosmtpd (Debian package python3-aiosmtpd): %v", python, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &smtpServer{addr: addr, maildir: filepath.Join(t.TempDir(), "maildir")}
	argv := append([]string{"-m", "aiosmtpd", "-n", "-l", addr}, args...)
	argv = append(argv, "-c", "aiosmtpd.handlers.Mailbox", s.maildir)
	cmd := exec.Command(python, argv...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aiosmtpd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // by PID: only the server this test started
		cmd.Wait()
		if t.Failed() {
			t.Logf("aiosmtpd output:\n%s", out.String())
		}
	})
	waitFor(t, 10*time.Second, "aiosmtpd greets on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "220")
	})
	return s
}

// messages reads what the server has stored.
func (s *smtpServer) messages(t *testing.T) []*mail.Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.maildir, "new", "*"))
	var msgs []*mail.Message
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func (s *smtpServer) waitMessages(t *testing.T, n int) []*mail.Message {
	t.Helper()
	waitFor(t, 5*time.Second, "the message arrived", func() bool { return len(s.messages(t)) >= n })
	return s.messages(t)
}

func emailConfig(server string) config.Email {
	return config.Email{Server: server, From: "had <had@example.org>", To: []string{"ops@example.org", "oncall@example.org"}}
}

// checkAlertMail: the message names node, event and time in its subject
// and body.
func checkAlertMail(t *testing.T, m *mail.Message) {
	t.Helper()
	wantSubject := "had alpha: warning: heartbeat path lan down at 2026-11-22T02:00:00Z"
	if got := m.Header.Get("Subject"); got != wantSubject {
		t.Errorf("subject: got %q, want %q", got, wantSubject)
	}
	for _, h := range []string{"Date", "Message-Id", "From", "To"} {
		if m.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("date: %v", err)
	}
	if got := m.Header.Get("X-Rcptto"); got != "ops@example.org, oncall@example.org" {
		t.Errorf("envelope recipients: got %q", got)
	}
	body, _ := io.ReadAll(m.Body)
	for _, want := range []string{"node:  alpha", "level: warning", "kind:  path", "time:  2026-11-22T02:00:00Z", "heartbeat path lan down"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body %q lacks %q", body, want)
		}
	}
}

// TestEmail sends an alert through the whole dispatcher to a real SMTP
// server with no STARTTLS.
func TestEmail(t *testing.T) {
	srv := startSMTP(t)
	c := config.DefaultAlerts()
	c.Email = emailConfig(srv.addr)
	c.Timeout = 5 * time.Second
	d := New(c, zerolog.Nop())
	d.Send(ev("warning", "path", "heartbeat path lan down"))
	d.Close()
	if s := d.Stats()["email"]; s.Sent != 1 {
		t.Fatalf("got %+v, want 1 sent", s)
	}
	msgs := srv.waitMessages(t, 1)
	checkAlertMail(t, msgs[0])
}

// TestEmailTLS: STARTTLS offered with a certificate that verifies: the
// mail goes over TLS.
func TestEmailTLS(t *testing.T) {
	certFile, keyFile, pool := makeCert(t)
	srv := startSMTP(t, "--tlscert", certFile, "--tlskey", keyFile)
	m := newEmail(emailConfig(srv.addr), zerolog.Nop())
	m.tls = &tls.Config{RootCAs: pool}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg := compose(alert{Event: ev("warning", "path", "heartbeat path lan down")}, m.from, m.to, time.Now(), "1.tls", m.host)
	secure, err := m.send(ctx, msg, true)
	if err != nil || !secure {
		t.Fatalf("send: got secure %v, %v; want over TLS", secure, err)
	}
	checkAlertMail(t, srv.waitMessages(t, 1)[0])
}

// TestEmailBadCertificate: STARTTLS offered with a certificate that does
// not verify (self-signed): the alert goes out all the same, in plain
// text, with a warning.
func TestEmailBadCertificate(t *testing.T) {
	certFile, keyFile, _ := makeCert(t)
	srv := startSMTP(t, "--tlscert", certFile, "--tlskey", keyFile, "--no-requiretls")
	var logs syncBuffer
	m := newEmail(emailConfig(srv.addr), testLogger(&logs))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.deliver(ctx, alert{Event: ev("warning", "path", "heartbeat path lan down")}); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if !strings.Contains(logs.String(), "smtp certificate not valid, sending without tls") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	checkAlertMail(t, srv.waitMessages(t, 1)[0])
}

// TestEmailTimeout: a server that accepts and never greets costs one
// timeout, not more.
func TestEmailTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	m := newEmail(emailConfig(l.Addr().String()), zerolog.Nop())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err = m.deliver(ctx, alert{Event: ev("warning", "path", "x")})
	if took := time.Since(begin); err == nil || took > time.Second {
		t.Errorf("got %v after %v, want a timeout after 200ms", err, took)
	}
}

// makeCert writes a self-signed certificate for 127.0.0.1 and returns its
// files and a pool that trusts it.
func makeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "had test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile, pool
}
