package alerts

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// maxSubject bounds the subject, well inside RFC 5322's 998-character
// line limit even once encoded.
const maxSubject = 200

// compose builds the message (RFC 5322 with MIME, CRLF line ends): Date,
// From, To, Message-ID, Subject (the alert line), and a plain-text body
// naming node, level, kind, time and text. The body is 7bit when it is
// ASCII with short lines, else quoted-printable. msgID is the part of the
// Message-ID before the '@' (unique per message); host is the sender's
// host name.
func compose(a alert, from string, to []string, now time.Time, msgID, host string) []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("Date", now.Format(time.RFC1123Z))
	header("From", formatAddress(from))
	tos := make([]string, len(to))
	for i, t := range to {
		tos[i] = formatAddress(t)
	}
	header("To", strings.Join(tos, ", "))
	header("Message-ID", "<"+msgID+"@"+oneLine(host)+">")
	header("Subject", encodeHeader(a.fit(maxSubject)))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	body := a.body()
	if plain7bit(body) {
		header("Content-Transfer-Encoding", "7bit")
		b.WriteString("\r\n")
		b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
		return b.Bytes()
	}
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(body))
	w.Close()
	return b.Bytes()
}

// formatAddress re-formats an address (config has validated it) so that
// a non-ASCII display name is encoded.
func formatAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return oneLine(s)
	}
	return a.String()
}

// encodeHeader encodes s as RFC 2047 words when it is not ASCII.
func encodeHeader(s string) string {
	s = oneLine(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// plain7bit: ASCII, no CR, and lines of at most 998 characters (RFC 5322
// §2.1.1), so the body can go as it is.
func plain7bit(s string) bool {
	line := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80, c == '\r', c == 0:
			return false
		case c == '\n':
			line = 0
		default:
			if line++; line > 998 {
				return false
			}
		}
	}
	return true
}
