package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

const testCluster = 0x00C0FFEE

var (
	key1 = []byte("had test key 1: 0123456789abcdef") // 32 bytes
	key2 = []byte("had test key 2: fedcba9876543210")
)

func ring(active uint8, ids ...uint8) *Keyring {
	kr := &Keyring{Active: active, Keys: map[uint8][]byte{}}
	for _, id := range ids {
		kr.Keys[id] = map[uint8][]byte{1: key1, 2: key2}[id]
	}
	return kr
}

func mustCodec(t testing.TB, kr *Keyring) *Codec {
	t.Helper()
	c, err := NewCodec(kr)
	if err != nil {
		t.Fatalf("NewCodec: %v", err)
	}
	return c
}

func sampleFrame() Frame {
	return Frame{
		Kind:      TakeRequest,
		State:     StateTakeover,
		Flags:     FlagAdmin | FlagStopping,
		Cluster:   testCluster,
		Node:      2,
		Held:      GroupOf(1) | GroupOf(2),
		Epoch:     0x0102030405060708,
		Seq:       0x1112131415161718,
		Time:      1700000000123456789,
		ReqID:     0xA1B2C3D4,
		EchoTime:  1699999999987654321,
		EchoDelay: 1234,
	}
}

// goldenFrame is sampleFrame signed with key1 (id 1), field by field. If
// this test fails the wire format changed: bump Version instead.
var goldenFrame = strings.Join([]string{
	"4844",             // magic "HD"
	"01",               // version
	"00c0ffee",         // cluster
	"02",               // node
	"03",               // kind TAKEREQUEST
	"02",               // state T
	"06",               // flags admin|stopping
	"0003",             // held g1,g2
	"0102030405060708", // epoch
	"1112131415161718", // seq
	"17979cfe3d85cd15", // time
	"a1b2c3d4",         // req id
	"17979cfe356d9eb1", // echo time
	"000004d2",         // echo delay 1234 µs
	"01",               // key id
	"8aa54f21cb5e69073725ea26143b9da8b6c1a3cd38e6fd7383300c2c1713ab46", // HMAC-SHA256(key1, bytes 0..53)
}, "")

func TestGolden(t *testing.T) {
	f := sampleFrame()
	got, err := Append(nil, &f, ring(1, 1))
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(got) != Size {
		t.Fatalf("got %d bytes, want %d", len(got), Size)
	}
	if gotHex := hex.EncodeToString(got); gotHex != goldenFrame {
		t.Errorf("encoding changed:\n got %s\nwant %s", gotHex, goldenFrame)
	}
	// The MAC is plain HMAC-SHA256 over every byte before it, so a peer in
	// another language can check it.
	m := hmac.New(sha256.New, key1)
	m.Write(got[:offMAC])
	if !bytes.Equal(m.Sum(nil), got[offMAC:]) {
		t.Errorf("MAC is not HMAC-SHA256(key1, bytes 0..%d)", offMAC-1)
	}
}

func TestRoundTrip(t *testing.T) {
	c := mustCodec(t, ring(1, 1))
	base := sampleFrame()
	n := 0
	for k := Kind(0); k.Valid(); k++ {
		for s := StateNormal; s.Valid(); s++ {
			// Known flags, all of them, and unknown bits, which are carried.
			for _, fl := range []Flags{0, FlagUnhealthy, FlagAdmin, FlagStopping, FlagUnhealthy | FlagAdmin | FlagStopping, 0xF8} {
				for h := Groups(0); h <= allGroups; h++ {
					f := base
					f.Kind, f.State, f.Flags, f.Held = k, s, fl, h
					f.Node = uint8(n%MaxNode) + 1
					f.Seq = uint64(n) + 1
					f.Time, f.EchoTime = -int64(n), 0 // negative and zero times are legal
					b, err := c.Append(nil, &f)
					if err != nil {
						t.Fatalf("Append(%+v): %v", f, err)
					}
					got, err := c.Decode(b, testCluster)
					if err != nil {
						t.Fatalf("Decode(Append(%+v)): %v", f, err)
					}
					if got != f {
						t.Fatalf("got %+v, want %+v", got, f)
					}
					n++
				}
			}
		}
	}
}

func TestAppendToExisting(t *testing.T) {
	c := mustCodec(t, ring(1, 1))
	f := sampleFrame()
	prefix := []byte("prefix")
	b, err := c.Append(prefix, &f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:len(prefix)], prefix) || len(b) != len(prefix)+Size {
		t.Fatalf("got %q..., len %d, want prefix kept and len %d", b[:len(prefix)], len(b), len(prefix)+Size)
	}
	if _, err := c.Decode(b[len(prefix):], testCluster); err != nil {
		t.Fatalf("Decode: %v", err)
	}
}

func TestAppendErrors(t *testing.T) {
	tests := []struct {
		name string
		kr   *Keyring
		edit func(*Frame)
		want error
	}{
		{"unknown kind", ring(1, 1), func(f *Frame) { f.Kind = 6 }, ErrInvalid},
		{"state none", ring(1, 1), func(f *Frame) { f.State = StateNone }, ErrInvalid},
		{"unknown state", ring(1, 1), func(f *Frame) { f.State = 5 }, ErrInvalid},
		{"node 0", ring(1, 1), func(f *Frame) { f.Node = 0 }, ErrInvalid},
		{"node 3", ring(1, 1), func(f *Frame) { f.Node = 3 }, ErrInvalid},
		{"group of node 3", ring(1, 1), func(f *Frame) { f.Held |= GroupOf(3) }, ErrInvalid},
		{"epoch 0", ring(1, 1), func(f *Frame) { f.Epoch = 0 }, ErrInvalid},
		{"seq 0", ring(1, 1), func(f *Frame) { f.Seq = 0 }, ErrInvalid},
		{"active key missing", ring(2, 1), func(*Frame) {}, ErrUnknownKey},
		{"no keys", &Keyring{Active: 1}, func(*Frame) {}, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sampleFrame()
			tt.edit(&f)
			b, err := Append([]byte{1, 2}, &f, tt.kr)
			if !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
			if len(b) != 2 {
				t.Errorf("got dst of %d bytes after an error, want it unchanged (2)", len(b))
			}
		})
	}
}

func TestShortKey(t *testing.T) {
	kr := &Keyring{Active: 1, Keys: map[uint8][]byte{1: key1, 7: []byte("short")}}
	if _, err := NewCodec(kr); err == nil {
		t.Errorf("got no error for a 5-byte key, want one")
	}
	f := sampleFrame()
	if _, err := Append(nil, &f, kr); err == nil {
		t.Errorf("Append: got no error for a 5-byte key, want one")
	}
	if _, err := Decode(nil, testCluster, kr); err == nil || errors.Is(err, ErrShort) {
		t.Errorf("Decode: got %v, want the key error", err)
	}
}

// signed returns a frame body edited by edit and signed with key1 as id 1,
// bypassing the encoder's checks, to test the decoder's.
func signed(edit func(b []byte)) []byte {
	f := sampleFrame()
	b := appendBody(nil, &f, 1)
	edit(b)
	m := hmac.New(sha256.New, key1)
	m.Write(b)
	return m.Sum(b)
}

func TestDecodeErrors(t *testing.T) {
	c := mustCodec(t, ring(1, 1))
	f := sampleFrame()
	good, err := c.Append(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(edit func(b []byte)) []byte {
		b := bytes.Clone(good)
		edit(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"two bytes", good[:2], ErrShort},
		{"header only", good[:offCluster], ErrShort},
		{"no mac", good[:offMAC], ErrShort},
		{"one byte short", good[:Size-1], ErrShort},
		{"one byte long", append(bytes.Clone(good), 0), ErrOversize},
		{"jumbo", append(bytes.Clone(good), make([]byte, 9000)...), ErrOversize},
		{"magic", mod(func(b []byte) { b[0] = 'X' }), ErrMagic},
		{"magic second byte", mod(func(b []byte) { b[1] = 'X' }), ErrMagic},
		{"random short garbage", []byte("hello"), ErrMagic},
		{"version 0", mod(func(b []byte) { b[offVersion] = 0 }), ErrVersion},
		{"version 2 longer", append(mod(func(b []byte) { b[offVersion] = 2 }), 0, 0, 0), ErrVersion},
		{"other cluster", mod(func(b []byte) { b[offCluster+3]++ }), ErrCluster},
		{"unknown key id", mod(func(b []byte) { b[offKeyID] = 9 }), ErrUnknownKey},
		{"mac flipped", mod(func(b []byte) { b[Size-1] ^= 1 }), ErrBadMAC},
		{"body flipped", mod(func(b []byte) { b[offSeq] ^= 1 }), ErrBadMAC},
		{"signed unknown kind", signed(func(b []byte) { b[offKind] = 200 }), ErrInvalid},
		{"signed state none", signed(func(b []byte) { b[offState] = 0 }), ErrInvalid},
		{"signed node 0", signed(func(b []byte) { b[offNode] = 0 }), ErrInvalid},
		{"signed node 3", signed(func(b []byte) { b[offNode] = 3 }), ErrInvalid},
		{"signed held g3", signed(func(b []byte) { b[offHeld+1] = 4 }), ErrInvalid},
		{"signed epoch 0", signed(func(b []byte) { clear(b[offEpoch : offEpoch+8]) }), ErrInvalid},
		{"signed seq 0", signed(func(b []byte) { clear(b[offSeq : offSeq+8]) }), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode(tt.in, testCluster)
			if !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
			if got != (Frame{}) {
				t.Errorf("got frame %+v with an error, want the zero Frame", got)
			}
		})
	}
	if _, err := c.Decode(good, testCluster); err != nil {
		t.Errorf("the untouched frame: got %v, want no error", err)
	}
}

// TestTamper changes every byte of an encoded frame in several ways; no
// change may decode.
func TestTamper(t *testing.T) {
	c := mustCodec(t, ring(1, 1, 2))
	f := sampleFrame()
	good, err := c.Append(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, Size)
	for i := range Size {
		for _, x := range []byte{0x01, 0x80, 0xFF, 0x5A} {
			copy(b, good)
			b[i] ^= x
			if got, err := c.Decode(b, testCluster); err == nil {
				t.Errorf("byte %d ^= %#x: got %+v, want an error", i, x, got)
			}
		}
	}
	// Every truncation, too.
	for n := range Size {
		if _, err := c.Decode(good[:n], testCluster); !errors.Is(err, ErrShort) {
			t.Errorf("first %d bytes: got %v, want ErrShort", n, err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	f := sampleFrame()
	with2, err := Append(nil, &f, ring(2, 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if got := with2[offKeyID]; got != 2 {
		t.Fatalf("got key id %d, want 2", got)
	}
	if got, err := Decode(with2, testCluster, ring(1, 1, 2)); err != nil || got != f {
		t.Errorf("keyring {1,2}: got %+v, %v; want the frame", got, err)
	}
	if _, err := Decode(with2, testCluster, ring(1, 1)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("keyring {1}: got %v, want ErrUnknownKey", err)
	}
	// Key id 2 holding another secret: the MAC fails.
	wrong := &Keyring{Active: 1, Keys: map[uint8][]byte{2: key1}}
	if _, err := Decode(with2, testCluster, wrong); !errors.Is(err, ErrBadMAC) {
		t.Errorf("key 2 with key 1's secret: got %v, want ErrBadMAC", err)
	}
	// A codec keeps its keys: changing the map afterwards has no effect.
	kr := ring(2, 1, 2)
	c := mustCodec(t, kr)
	delete(kr.Keys, 2)
	if _, err := c.Decode(with2, testCluster); err != nil {
		t.Errorf("after deleting the key from the map: got %v, want the codec's copy to verify", err)
	}
}

func TestCodecNoAllocs(t *testing.T) {
	c := mustCodec(t, ring(1, 1))
	f := sampleFrame()
	buf := make([]byte, 0, MaxFrame)
	b, err := c.Append(buf, &f)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Append(buf, &f) }); n != 0 {
		t.Errorf("Append: got %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Decode(b, testCluster) }); n != 0 {
		t.Errorf("Decode: got %v allocs, want 0", n)
	}
	bad := bytes.Clone(b)
	bad[Size-1] ^= 1
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Decode(bad, testCluster) }); n != 0 {
		t.Errorf("Decode of a bad MAC: got %v allocs, want 0", n)
	}
}

func BenchmarkAppend(b *testing.B) {
	c := mustCodec(b, ring(1, 1))
	f := sampleFrame()
	buf := make([]byte, 0, MaxFrame)
	b.ReportAllocs()
	for b.Loop() {
		f.Seq++
		if _, err := c.Append(buf, &f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	c := mustCodec(b, ring(1, 1))
	f := sampleFrame()
	frame, err := c.Append(nil, &f)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(frame, testCluster); err != nil {
			b.Fatal(err)
		}
	}
}
