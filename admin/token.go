package admin

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
)

// MinTokenLen is the shortest token accepted: like a key, 16 bytes.
const MinTokenLen = 16

// ErrToken: the token file is unfit (readable by others, too short, empty).
var ErrToken = errors.New("admin: bad token file")

// Token is the bearer token remote clients must present.
type Token struct {
	text string
	sum  [sha256.Size]byte
}

// LoadToken reads the token file: its first line, spaces trimmed. Like
// the key file it must be readable by its owner only (mode 0600 or
// tighter): the token is the key to takeover and standby.
func LoadToken(path string) (Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return Token{}, fmt.Errorf("read token file: %w", err)
	}
	defer f.Close()
	// Stat the open file, so the mode checked is the mode of the bytes read.
	fi, err := f.Stat()
	if err != nil {
		return Token{}, fmt.Errorf("stat token file: %w", err)
	}
	switch perm := fi.Mode().Perm(); {
	case !fi.Mode().IsRegular():
		return Token{}, fmt.Errorf("%s: not a regular file: %w", path, ErrToken)
	case perm&0o077 != 0:
		return Token{}, fmt.Errorf("%s: mode %04o lets group or others read the token: run chmod 600 %s: %w", path, perm, path, ErrToken)
	}
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return Token{}, fmt.Errorf("%s: empty: %w", path, ErrToken)
	}
	text := strings.TrimSpace(line)
	if len(text) < MinTokenLen {
		return Token{}, fmt.Errorf("%s: the token has %d bytes, want at least %d: %w", path, len(text), MinTokenLen, ErrToken)
	}
	return NewToken(text), nil
}

// NewToken makes a token of text.
func NewToken(text string) Token { return Token{text: text, sum: sha256.Sum256([]byte(text))} }

// String is the token itself (for a client's header).
func (t Token) String() string { return t.text }

// Match compares in constant time: hashing first makes even the length
// of the token invisible to a timing attacker.
func (t Token) Match(presented string) bool {
	if t.text == "" {
		return false
	}
	sum := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1
}
