package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

var decodeErrors = []error{ErrShort, ErrOversize, ErrMagic, ErrVersion, ErrCluster, ErrUnknownKey, ErrBadMAC, ErrInvalid}

func isDecodeError(err error) bool {
	for _, e := range decodeErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FuzzDecode checks that Decode never panics, fails only with its
// sentinels, and that whatever decodes encodes to the same bytes. Random
// bytes almost never carry a good MAC, so each input is also tried re-signed
// with a key we have: that reaches the field checks.
func FuzzDecode(f *testing.F) {
	good := sampleFrame()
	enc := func(kr *Keyring, edit func(*Frame)) []byte {
		fr := good
		edit(&fr)
		b, err := Append(nil, &fr, kr)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(enc(ring(1, 1), func(*Frame) {}))                                  // the golden frame
	f.Add(enc(ring(2, 2), func(fr *Frame) { fr.Kind, fr.Flags = OK, 0xFF })) // key 2, unknown flags
	f.Add(enc(ring(1, 1), func(fr *Frame) { fr.Kind, fr.State, fr.Held = RecoverAck, StateDown, 0 }))
	f.Add(enc(ring(1, 1), func(fr *Frame) { fr.Cluster++ }))          // another cluster
	f.Add(enc(ring(1, 1), func(*Frame) {})[:Size-1])                  // truncated
	f.Add(append(enc(ring(1, 1), func(*Frame) {}), 0))                // oversized
	f.Add(signed(func(b []byte) { b[offKind] = 99 }))                 // signed, unknown kind
	f.Add(signed(func(b []byte) { b[offHeld] = 0x80 }))               // signed, held group 16
	f.Add([]byte{})                                                   // empty datagram
	f.Add([]byte("HD\x02"))                                           // a future version
	f.Add(bytes.Repeat([]byte{0x7E}, Size))                           // serial sync noise
	f.Add(AppendSerial(nil, enc(ring(1, 1), func(*Frame) {}))[:Size]) // serial framing not removed
	f.Fuzz(func(t *testing.T, data []byte) {
		c := mustCodec(t, ring(1, 1, 2))
		check := func(what string, b []byte, fr Frame, err error) {
			if err != nil {
				if !isDecodeError(err) {
					t.Fatalf("%s: got error %v, want one of the sentinels", what, err)
				}
				if fr != (Frame{}) {
					t.Fatalf("%s: got frame %+v with error %v", what, fr, err)
				}
				return
			}
			re, err := mustCodec(t, ring(b[offKeyID], 1, 2)).Append(nil, &fr)
			if err != nil {
				t.Fatalf("%s: decoded %+v does not encode: %v", what, fr, err)
			}
			if !bytes.Equal(re, b) {
				t.Fatalf("%s: re-encoded\n% x\nwant\n% x", what, re, b)
			}
		}
		fr, err := c.Decode(data, testCluster)
		check("as is", data, fr, err)

		if len(data) < offMAC {
			return
		}
		body := bytes.Clone(data[:offMAC])
		key := key1
		if body[offKeyID] == 2 {
			key = key2
		} else {
			body[offKeyID] = 1
		}
		m := hmac.New(sha256.New, key)
		m.Write(body)
		resigned := m.Sum(body)
		fr, err = c.Decode(resigned, testCluster)
		if errors.Is(err, ErrBadMAC) || errors.Is(err, ErrUnknownKey) {
			t.Fatalf("re-signed: got %v, want the MAC to verify", err)
		}
		check("re-signed", resigned, fr, err)
	})
}

// FuzzDeframer checks that the Deframer never panics, keeps its buffer
// bounded and its byte accounting exact (deframe checks both), and returns
// only payloads whose framing, CRC included, is in the input as it is.
func FuzzDeframer(f *testing.F) {
	golden, err := hex.DecodeString(goldenFrame)
	if err != nil {
		f.Fatal(err)
	}
	w := AppendSerial(nil, golden)
	f.Add(w, uint8(0))                                                                // one frame, all at once
	f.Add(cat([]byte("boot: noise\r\n"), w, w[:40], w), uint8(13))                    // noise, a cut frame, 13-byte reads
	f.Add(cat([]byte{0x7E, 0x7E, 0x7E, 0x7E, 0x00, 0x7E, 0x7E, 0xFF}, w), uint8(1))   // bad lengths, byte by byte
	f.Add(cat([]byte{0x7E, 0x7E, 0x05, 1, 2}, sf("x"), sf("\x7e\x7e\x01")), uint8(2)) // false header, sync bytes in payload
	f.Add(bytes.Repeat([]byte{0x7E}, 600), uint8(255))                                // sync bytes only
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		var d Deframer
		got := deframe(t, &d, data, int(chunk))
		if uint64(len(got)) != d.Stats().Frames {
			t.Fatalf("got %d frames, Stats says %d", len(got), d.Stats().Frames)
		}
		for _, p := range got {
			if len(p) == 0 || len(p) > MaxSerialPayload {
				t.Fatalf("got a payload of %d bytes, want 1..%d", len(p), MaxSerialPayload)
			}
			// AppendSerial computes the right CRC, so finding its output in
			// the input proves the input had a good one.
			if !bytes.Contains(data, AppendSerial(nil, p)) {
				t.Fatalf("payload % x: its framing with a good CRC is not in the input", p)
			}
		}
	})
}
