package wire

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func sf(payload string) []byte { return AppendSerial(nil, []byte(payload)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// deframe feeds stream to d in chunks of the given size (0: all at once)
// and returns copies of the payloads found. It checks the buffer bound and
// the byte accounting after every step.
func deframe(t testing.TB, d *Deframer, stream []byte, chunk int) [][]byte {
	t.Helper()
	var got [][]byte
	fed := uint64(d.Stats().FrameBytes+d.Stats().Garbage) + uint64(d.Buffered())
	for p := stream; len(p) > 0; {
		c := p
		if chunk > 0 && len(c) > chunk {
			c = c[:chunk]
		}
		n := d.Feed(c)
		if n == 0 || (len(c) <= MaxSerialFrame && n != len(c)) {
			t.Fatalf("Feed took %d of %d bytes with %d buffered, want all of at most MaxSerialFrame", n, len(c), d.Buffered())
		}
		p = p[n:]
		fed += uint64(n)
		for {
			payload, ok := d.Next()
			if !ok {
				break
			}
			got = append(got, bytes.Clone(payload))
		}
		if b := d.Buffered(); b >= MaxSerialFrame {
			t.Fatalf("%d bytes buffered after Next returned false, want < %d", b, MaxSerialFrame)
		}
		st := d.Stats()
		if acc := st.FrameBytes + st.Garbage + uint64(d.Buffered()); acc != fed {
			t.Fatalf("frame bytes %d + garbage %d + buffered %d = %d, want the %d bytes fed",
				st.FrameBytes, st.Garbage, d.Buffered(), acc, fed)
		}
	}
	return got
}

func TestAppendSerialLayout(t *testing.T) {
	got := sf("abc")
	crc := crc32.ChecksumIEEE([]byte{3, 'a', 'b', 'c'})
	want := []byte{0x7E, 0x7E, 3, 'a', 'b', 'c', byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)}
	if !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
	if MaxSerialPayload >= SerialSync {
		t.Errorf("MaxSerialPayload %d ≥ 0x7E: a run of sync bytes could read as a length", MaxSerialPayload)
	}
}

func TestAppendSerialPanics(t *testing.T) {
	for _, n := range []int{0, MaxSerialPayload + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("payload of %d bytes: got no panic, want one", n)
				}
			}()
			AppendSerial(nil, make([]byte, n))
		}()
	}
}

func TestDeframer(t *testing.T) {
	a, b := sf("hello"), sf("world!")
	max := AppendSerial(nil, bytes.Repeat([]byte{0x7E}, MaxSerialPayload))
	badCRC := sf("broken")
	badCRC[len(badCRC)-1] ^= 1
	badBody := sf("broken")
	badBody[4] ^= 0x10
	syncs := sf("\x7e\x7e\x05\x7e\x7e\x7e\x7e\x01\x7e") // sync pairs and lengths inside the payload
	tests := []struct {
		name   string
		stream []byte
		want   []string
		stats  SerialStats // Frames and FrameBytes are checked by want
	}{
		{"nothing", nil, nil, SerialStats{}},
		{"one", a, []string{"hello"}, SerialStats{}},
		{"two back to back", cat(a, b), []string{"hello", "world!"}, SerialStats{}},
		{"garbage around", cat([]byte("noise"), a, []byte("\x00\xff"), b, []byte("tail")), []string{"hello", "world!"}, SerialStats{Garbage: 11}},
		{"payload of sync bytes", cat(max, a), []string{string(max[3 : len(max)-4]), "hello"}, SerialStats{}},
		{"sync pairs in payload", cat(syncs, a), []string{"\x7e\x7e\x05\x7e\x7e\x7e\x7e\x01\x7e", "hello"}, SerialStats{}},
		{"bad crc then good", cat(badCRC, a), []string{"hello"}, SerialStats{Garbage: uint64(len(badCRC)), BadCRC: 1}},
		{"bad body then good", cat(badBody, a), []string{"hello"}, SerialStats{Garbage: uint64(len(badBody)), BadCRC: 1}},
		{"zero length", cat([]byte{0x7E, 0x7E, 0}, a), []string{"hello"}, SerialStats{Garbage: 3, BadLength: 1}},
		{"oversize length", cat([]byte{0x7E, 0x7E, MaxSerialPayload + 1}, a), []string{"hello"}, SerialStats{Garbage: 3, BadLength: 1}},
		{"length 255", cat([]byte{0x7E, 0x7E, 0xFF}, a), []string{"hello"}, SerialStats{Garbage: 3, BadLength: 1}},
		// The run "7E 7E 7E" reads as length 0x7E: too long.
		{"run of sync bytes", cat(bytes.Repeat([]byte{0x7E}, 9), a), []string{"hello"}, SerialStats{Garbage: 9, BadLength: 9}},
		{"one sync byte", cat([]byte{0x7E}, a), []string{"hello"}, SerialStats{Garbage: 1, BadLength: 1}},
		// A false header whose length covers the real frame's start.
		{"false header", cat([]byte{0x7E, 0x7E, 6, 'x'}, a), []string{"hello"}, SerialStats{Garbage: 4, BadCRC: 1}},
		{"truncated then good", cat(b[:7], a), []string{"hello"}, SerialStats{Garbage: 7, BadCRC: 1}},
		{"truncated at end", cat(a, b[:7]), []string{"hello"}, SerialStats{}},
		{"sync at end", cat(a, []byte{1, 0x7E}), []string{"hello"}, SerialStats{Garbage: 1}},
		{"header split off at end", cat(a, []byte{0x7E, 0x7E}), []string{"hello"}, SerialStats{}},
	}
	for _, tt := range tests {
		for _, chunk := range []int{0, 1, 2, 3, 7} {
			t.Run(fmt.Sprintf("%s/chunk%d", tt.name, chunk), func(t *testing.T) {
				var d Deframer
				got := deframe(t, &d, tt.stream, chunk)
				var gotS []string
				for _, g := range got {
					gotS = append(gotS, string(g))
				}
				if fmt.Sprintf("%q", gotS) != fmt.Sprintf("%q", tt.want) {
					t.Errorf("got %q, want %q", gotS, tt.want)
				}
				st := d.Stats()
				st.Frames, st.FrameBytes = 0, 0
				if st != tt.stats {
					t.Errorf("got stats %+v, want %+v", st, tt.stats)
				}
			})
		}
	}
}

// TestDeframerSplitEverywhere feeds two wire frames split at every pair of
// byte positions.
func TestDeframerSplitEverywhere(t *testing.T) {
	c := mustCodec(t, ring(1, 1))
	f := sampleFrame()
	w1, _ := c.Append(nil, &f)
	f.Seq++
	w2, _ := c.Append(nil, &f)
	stream := cat([]byte("\x7e\x7egarbage"), AppendSerial(nil, w1), AppendSerial(nil, w2))
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j++ {
			var d Deframer
			var got [][]byte
			for _, part := range [][]byte{stream[:i], stream[i:j], stream[j:]} {
				for len(part) > 0 {
					part = part[d.Feed(part):]
					for p, ok := d.Next(); ok; p, ok = d.Next() {
						got = append(got, bytes.Clone(p))
					}
				}
			}
			if len(got) != 2 || !bytes.Equal(got[0], w1) || !bytes.Equal(got[1], w2) {
				t.Fatalf("split %d,%d: got %d frames, want the 2 sent", i, j, len(got))
			}
		}
	}
}

// TestDeframerGarbageBounded feeds a lot of noise rich in sync bytes; the
// buffer must stay bounded and every byte be counted as garbage.
func TestDeframerGarbageBounded(t *testing.T) {
	const seed = 7
	rng := rand.New(rand.NewPCG(seed, seed))
	noise := make([]byte, 1<<20)
	for i := range noise {
		if rng.IntN(3) == 0 {
			noise[i] = 0x7E
		} else {
			noise[i] = byte(rng.IntN(MaxSerialPayload + 1))
		}
	}
	var d Deframer
	got := deframe(t, &d, noise, 4096)
	// A forged CRC in noise is possible in principle (2^-32 per sync pair
	// with a plausible length); this seed has none.
	if len(got) != 0 {
		t.Errorf("seed %d: got %d frames from noise, want 0", seed, len(got))
	}
	st := d.Stats()
	if st.Garbage+uint64(d.Buffered()) != uint64(len(noise)) || st.BadCRC == 0 || st.BadLength == 0 {
		t.Errorf("seed %d: got stats %+v with %d buffered, want all %d bytes garbage and both kinds of bad sync",
			seed, st, d.Buffered(), len(noise))
	}
}

// TestDeframerRandom interleaves frames with noise, corrupted frames and
// truncated frames, feeds the stream in random chunks, and checks that every
// intact frame comes out, in order, and nothing else.
func TestDeframerRandom(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x5E41A1))
		randPayload := func() []byte {
			n := MaxSerialPayload // wire frames are all full size
			if rng.IntN(2) == 0 {
				n = 1 + rng.IntN(MaxSerialPayload)
			}
			p := make([]byte, n)
			for i := range p {
				if rng.IntN(4) == 0 {
					p[i] = 0x7E // plenty of false syncs
				} else {
					p[i] = byte(rng.Uint32())
				}
			}
			return p
		}
		var stream []byte
		var want [][]byte
		for range 100 {
			switch rng.IntN(6) {
			case 0, 1, 2: // an intact frame
				p := randPayload()
				want = append(want, p)
				stream = AppendSerial(stream, p)
			case 3: // noise, with fake headers
				for range rng.IntN(40) {
					switch rng.IntN(4) {
					case 0:
						stream = append(stream, 0x7E, 0x7E, byte(1+rng.IntN(MaxSerialPayload)))
					case 1:
						stream = append(stream, 0x7E)
					default:
						stream = append(stream, byte(rng.Uint32()))
					}
				}
			case 4: // a frame with one byte changed
				fr := AppendSerial(nil, randPayload())
				i := rng.IntN(len(fr))
				fr[i] ^= byte(1 + rng.IntN(255))
				stream = append(stream, fr...)
			case 5: // a frame cut short, then a byte that cannot complete it
				fr := AppendSerial(nil, randPayload())
				k := rng.IntN(len(fr))
				stream = append(stream, fr[:k]...)
				stream = append(stream, fr[k]^0x55)
			}
		}
		// Line traffic after the last frame, so a short frame behind a false
		// header is judged too.
		stream = append(stream, make([]byte, MaxSerialFrame)...)

		var d Deframer
		got := deframe(t, &d, stream, 1+rng.IntN(2*MaxSerialFrame))
		if len(got) != len(want) {
			t.Fatalf("seed %d: got %d frames, want %d", seed, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("seed %d: frame %d: got % x, want % x", seed, i, got[i], want[i])
			}
		}
	}
}

func BenchmarkDeframer(b *testing.B) {
	c := mustCodec(b, ring(1, 1))
	f := sampleFrame()
	w, _ := c.Append(nil, &f)
	line := AppendSerial(nil, w)
	var d Deframer
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		d.Feed(line)
		if _, ok := d.Next(); !ok {
			b.Fatal("no frame")
		}
	}
}
