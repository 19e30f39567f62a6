package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/hadcluster/had/comm/wire"
)

// The key file holds the HMAC-SHA256 keys both nodes share (SPEC §3), like
// Heartbeat's authkeys but with one algorithm only:
//
//	# had key file: mode 0600
//	active 1
//	key 1 hex:00112233445566778899aabbccddeeff
//	key 2 base64:c2VjcmV0IHNlY3JldCBzZWNyZXQ=
//
// "active" names the key that signs outgoing frames; every listed key is
// accepted on input, which is how keys are rotated (add the new key on both
// nodes, switch active on both, remove the old one). An id is 1 to 255. A
// secret is one word with no spaces: "hex:…", "base64:…" (standard
// alphabet, padding optional) or else the raw bytes of the word; decoded,
// it is at least wire.MinKeyLen (16) bytes. Comments are whole lines
// starting with '#': a '#' after a secret would be part of it, so text
// after the secret is an error rather than a silent change of key.
//
// No message ever quotes a secret: the errors end up in logs.

// ParseKeyring reads a key file's contents; name is the file's name, for
// messages. It returns either a whole keyring or every problem as Errors,
// in line order. ParseKeyring does no IO and no permission check.
func ParseKeyring(name string, data []byte) (*wire.Keyring, error) {
	c := &collector{file: name}
	kr := &wire.Keyring{Keys: map[uint8][]byte{}}
	keyLine := map[uint8]int{}
	activeLine := 0
	// sawActive and sawKey: a malformed line still counts as present, so it
	// gets one error, not a second one saying the line is missing.
	sawActive, sawKey := false, false
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := i + 1
		text := strings.TrimSpace(string(raw))
		if text == "" || text[0] == '#' {
			continue
		}
		f := strings.Fields(text)
		switch f[0] {
		case "active":
			sawActive = true
			if len(f) != 2 {
				c.addLine(line, "active", "want \"active <id>\"")
				continue
			}
			id, ok := keyID(c, line, "active", f[1])
			if !ok {
				continue
			}
			if activeLine != 0 {
				c.addLine(line, "active", "already set on line %d", activeLine)
				continue
			}
			kr.Active, activeLine = id, line
		case "key":
			sawKey = true
			if len(f) < 2 {
				c.addLine(line, "key", "want \"key <id> <secret>\"")
				continue
			}
			id, ok := keyID(c, line, "key", f[1])
			if !ok {
				continue
			}
			field := fmt.Sprintf("key %d", id)
			if first, dup := keyLine[id]; dup {
				c.addLine(line, field, "already defined on line %d", first)
				continue
			}
			keyLine[id] = line
			switch {
			case len(f) == 2:
				c.addLine(line, field, "no secret: want \"key <id> <secret>\"")
			case len(f) > 3:
				c.addLine(line, field, "text after the secret: a secret has no spaces, and comments go on lines of their own")
			default:
				secret, err := decodeSecret(f[2])
				if err != "" {
					c.addLine(line, field, "%s", err)
					continue
				}
				kr.Keys[id] = secret
			}
		default:
			// f[0] is not quoted: it may be a secret pasted on its own line.
			c.addLine(line, "", "a line must start with \"active\", \"key\" or '#'")
		}
	}
	switch {
	case !sawKey:
		c.addLine(0, "key", "no keys: add a line \"key <id> <secret>\"")
	case !sawActive:
		c.addLine(0, "active", "missing: add a line \"active <id>\" naming the key that signs")
	case activeLine != 0 && keyLine[kr.Active] == 0:
		c.addLine(activeLine, "active", "key %d is not defined in this file", kr.Active)
	}
	if err := c.result(); err != nil {
		return nil, err
	}
	return kr, nil
}

func keyID(c *collector, line int, field, s string) (uint8, bool) {
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n == 0 {
		c.addLine(line, field, "%q is not a key id: want 1 to 255", s)
		return 0, false
	}
	return uint8(n), true
}

// decodeSecret returns the key bytes of a secret word, or why it is not one.
func decodeSecret(word string) ([]byte, string) {
	var key []byte
	switch {
	case strings.HasPrefix(word, "hex:"):
		b, err := hex.DecodeString(word[len("hex:"):])
		if err != nil {
			return nil, "the secret is not valid hex"
		}
		key = b
	case strings.HasPrefix(word, "base64:"):
		s := word[len("base64:"):]
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(s)
		}
		if err != nil {
			return nil, "the secret is not valid base64"
		}
		key = b
	default:
		key = []byte(word)
	}
	if len(key) < wire.MinKeyLen {
		return nil, fmt.Sprintf("the secret is %d bytes, want at least %d", len(key), wire.MinKeyLen)
	}
	return key, ""
}
