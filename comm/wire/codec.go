package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
)

// MinKeyLen is the shortest key accepted. RFC 2104 §3 discourages keys
// shorter than the hash output (32 bytes); 16 bytes of randomness are still
// beyond guessing, and rejecting shorter ones catches empty or truncated key
// files.
const MinKeyLen = 16

// Keyring holds the shared HMAC keys by key id. The sender signs with
// Active; the receiver accepts any key it has, so keys can be rotated by
// first adding the new key on both nodes, then switching Active, then
// removing the old one.
type Keyring struct {
	Active uint8
	Keys   map[uint8][]byte
}

// Codec encodes and decodes frames with the keys of one Keyring. It keeps a
// keyed HMAC state per key, so Append and Decode do not allocate. A Codec is
// not safe for concurrent use.
type Codec struct {
	active uint8
	macs   [256]hash.Hash // by key id; nil where there is no key
	sum    [sha256.Size]byte
}

// NewCodec builds a Codec from kr. The keys are copied into HMAC states;
// kr may change afterwards without effect. The active key need not be in kr
// (a receive-only Codec), but Append then fails.
func NewCodec(kr *Keyring) (*Codec, error) {
	c := &Codec{active: kr.Active}
	for id, key := range kr.Keys {
		if len(key) < MinKeyLen {
			return nil, fmt.Errorf("load key %d: %d bytes, want at least %d", id, len(key), MinKeyLen)
		}
		c.macs[id] = hmac.New(sha256.New, key)
	}
	return c, nil
}

// Append appends the encoding of f, signed with the active key, to dst. It
// fails when the active key is missing or f holds a value that cannot be on
// the wire (ErrInvalid).
func (c *Codec) Append(dst []byte, f *Frame) ([]byte, error) {
	if err := f.validate(); err != nil {
		return dst, fmt.Errorf("encode frame: %w", err)
	}
	h := c.macs[c.active]
	if h == nil {
		return dst, fmt.Errorf("encode frame: %w: active key %d", ErrUnknownKey, c.active)
	}
	start := len(dst)
	dst = appendBody(dst, f, c.active)
	h.Reset()
	h.Write(dst[start:])
	return h.Sum(dst), nil
}

// Decode checks and decodes one frame of the given cluster. The error is one
// of the package's sentinels (possibly wrapped, for ErrInvalid): the
// receiver counts each kind of drop separately. Decode does not check for
// replays; see Replay.
func (c *Codec) Decode(b []byte, cluster uint32) (Frame, error) {
	if err := checkHeader(b, cluster); err != nil {
		return Frame{}, err
	}
	h := c.macs[b[offKeyID]]
	if h == nil {
		return Frame{}, ErrUnknownKey
	}
	h.Reset()
	h.Write(b[:offMAC])
	if !hmac.Equal(h.Sum(c.sum[:0]), b[offMAC:Size]) {
		return Frame{}, ErrBadMAC
	}
	// Field checks come after the MAC: a frame that fails them was signed
	// with our key, which means a peer with a newer or broken encoder, not
	// line noise, and deserves its own count.
	f := parseBody(b)
	if err := f.validate(); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// Append is Codec.Append with a Codec built for this one call; the sender's
// hot path keeps a Codec instead.
func Append(dst []byte, f *Frame, kr *Keyring) ([]byte, error) {
	c, err := NewCodec(kr)
	if err != nil {
		return dst, fmt.Errorf("encode frame: %w", err)
	}
	return c.Append(dst, f)
}

// Decode is Codec.Decode with a Codec built for this one call; the
// receiver's hot path keeps a Codec instead.
func Decode(b []byte, cluster uint32, kr *Keyring) (Frame, error) {
	c, err := NewCodec(kr)
	if err != nil {
		return Frame{}, fmt.Errorf("decode frame: %w", err)
	}
	return c.Decode(b, cluster)
}
