package wire

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Serial framing. A serial line has no packet boundaries and delivers noise
// (a peer's boot console, a reopened port, a bad cable), so each frame is
// wrapped as
//
//	0x7E 0x7E | len u8 | payload (len bytes) | CRC-32/IEEE(len, payload) u32 big-endian
//
// with 1 ≤ len ≤ MaxSerialPayload (a wire frame is 93 bytes on the line).
// The payload is not escaped: a sync pair inside a payload is harmless
// because the Deframer skips whole frames once it has found one, and after
// noise it tries every sync pair, checking the length and the CRC, until one
// holds. As MaxSerialPayload < 0x7E, a run of sync bytes never reads as a
// plausible length. The CRC covers the length byte so a corrupted length is
// caught as well. Authentication is the payload's business (the wire frame's
// HMAC); the CRC only finds frame boundaries and line errors.
const (
	SerialSync = 0x7E
	// MaxSerialPayload is the longest payload: a wire frame.
	MaxSerialPayload = MaxFrame
	// MaxSerialFrame is the longest framed payload on the line.
	MaxSerialFrame = serialHeader + MaxSerialPayload + serialTrailer

	serialHeader  = 3 // sync, sync, len
	serialTrailer = 4 // CRC
	// deframerBuf holds one incomplete frame plus one read of up to
	// MaxSerialFrame bytes.
	deframerBuf = 2 * MaxSerialFrame
)

// AppendSerial appends payload framed for the serial line to dst. It panics
// if payload is empty or longer than MaxSerialPayload: the sender only
// frames wire frames, so that is a programming error.
func AppendSerial(dst, payload []byte) []byte {
	if len(payload) == 0 || len(payload) > MaxSerialPayload {
		panic(fmt.Sprintf("wire: serial payload of %d bytes, want 1..%d", len(payload), MaxSerialPayload))
	}
	start := len(dst)
	dst = append(dst, SerialSync, SerialSync, byte(len(payload)))
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start+2:]))
}

// SerialStats counts what a Deframer has seen. Every byte fed ends up either
// in a frame (sync, length, payload and CRC: FrameBytes) or in Garbage,
// except the at most MaxSerialFrame-1 bytes still buffered.
type SerialStats struct {
	Frames     uint64 // frames returned
	FrameBytes uint64 // bytes of those frames, framing included
	Garbage    uint64 // bytes discarded
	BadCRC     uint64 // sync pairs with a plausible length and a wrong CRC
	BadLength  uint64 // sync pairs with a length of 0 or above MaxSerialPayload
}

// Deframer finds framed payloads in a byte stream that may hold noise,
// partial frames and frames split at any byte. Its buffer is fixed
// (2×MaxSerialFrame bytes), so noise never grows it. The zero value is
// ready to use; a Deframer is not safe for concurrent use.
//
// Use it as
//
//	for len(p) > 0 {
//		p = p[d.Feed(p):]
//		for {
//			payload, ok := d.Next()
//			if !ok {
//				break
//			}
//			// use payload before the next Feed
//		}
//	}
type Deframer struct {
	buf   [deframerBuf]byte
	r, w  int // unread bytes are buf[r:w]
	stats SerialStats
}

// Feed copies as much of p into the buffer as fits and returns how many
// bytes it took. Once Next has returned false, Feed takes at least
// MaxSerialFrame bytes, so a reader that reads at most that much at a time
// never has a remainder.
func (d *Deframer) Feed(p []byte) int {
	if d.r > 0 {
		d.w = copy(d.buf[:], d.buf[d.r:d.w])
		d.r = 0
	}
	n := copy(d.buf[d.w:], p)
	d.w += n
	return n
}

// Next returns the next payload whose length and CRC are good, discarding
// the noise before it. The payload points into the Deframer's buffer and is
// valid until the next Feed. It returns false when the buffer holds no
// complete frame; the bytes that may still begin one are kept.
func (d *Deframer) Next() ([]byte, bool) {
	for {
		i := d.findSync(d.r)
		if i < 0 {
			// Keep a final sync byte: it may be the first of a pair.
			keep := d.w
			if d.w > d.r && d.buf[d.w-1] == SerialSync {
				keep = d.w - 1
			}
			d.discard(keep)
			return nil, false
		}
		d.discard(i)
		payload, n, st := d.frameAt(i)
		switch st {
		case frameOK:
			d.r = i + n
			d.stats.Frames++
			d.stats.FrameBytes += uint64(n)
			return payload, true
		case frameIncomplete:
			// The start of a frame still arriving, or a false sync in noise
			// whose length points past the data; more bytes will tell. A
			// full-size frame (every wire frame is one) never waits behind
			// a false sync: that starts earlier and spans at most
			// MaxSerialFrame bytes, so its CRC is checked before the real
			// frame is complete. A shorter frame may wait for the next
			// bytes on the line.
			return nil, false
		case frameBadLength:
			d.stats.BadLength++
		case frameBadCRC:
			d.stats.BadCRC++
		}
		// A false sync: drop its first byte only, since a real frame may
		// begin anywhere inside what it seemed to cover.
		d.discard(i + 1)
	}
}

// Stats returns the counters since the Deframer was made.
func (d *Deframer) Stats() SerialStats { return d.stats }

// Buffered returns how many bytes wait for the rest of a frame.
func (d *Deframer) Buffered() int { return d.w - d.r }

// discard drops buf[r:to] as garbage.
func (d *Deframer) discard(to int) {
	d.stats.Garbage += uint64(to - d.r)
	d.r = to
}

// findSync returns the index ≥ from of the next sync pair in the unread
// bytes, or -1.
func (d *Deframer) findSync(from int) int {
	for i := from; i+1 < d.w; i++ {
		if d.buf[i] == SerialSync && d.buf[i+1] == SerialSync {
			return i
		}
	}
	return -1
}

type frameStatus uint8

const (
	frameOK frameStatus = iota
	frameIncomplete
	frameBadLength
	frameBadCRC
)

// frameAt judges the candidate frame whose sync pair is at buf[i]; for a
// good one it returns the payload and the framed length.
func (d *Deframer) frameAt(i int) ([]byte, int, frameStatus) {
	if d.w-i < serialHeader {
		return nil, 0, frameIncomplete
	}
	l := int(d.buf[i+2])
	if l == 0 || l > MaxSerialPayload {
		return nil, 0, frameBadLength
	}
	n := serialHeader + l + serialTrailer
	if d.w-i < n {
		return nil, 0, frameIncomplete
	}
	body := d.buf[i+2 : i+serialHeader+l]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(d.buf[i+serialHeader+l:]) {
		return nil, 0, frameBadCRC
	}
	return body[1:], n, frameOK
}
