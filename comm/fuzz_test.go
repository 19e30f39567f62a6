package comm

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/commtest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// FuzzReceiver drives the real receiver — handle and tick as the pumps and
// the timer loop call them, and the serial link's own deframing — with a
// script decoded from the fuzz input: raw datagrams, raw serial bytes,
// frames signed with the cluster key (valid or not, new, old, of other
// epochs), replays and bit-flipped copies of them, frames forged with the
// wrong key or cluster, clock steps and receiver restarts on the same
// table. After every step it compares the table with a model written from
// SPEC §3 alone (an HMAC computed here, the layout read here):
//
//   - a frame is accepted (SlotPeer, the message ring) only if it carries
//     a good HMAC under the key and is newer than every frame accepted
//     before, in this receiver's life or a previous one: nothing forged,
//     replayed or reordered ever reaches had2, and every genuine new frame
//     does;
//   - a genuine copy of a recent frame (current epoch, within the last 64
//     sequence numbers) that a path has not delivered yet marks that path
//     heard, once per frame per path, and changes nothing else: not
//     SlotPeer, not the peer's silence clock, so it cannot hold off
//     OVERTIME;
//   - everything else is dropped and counted once, under its reason;
//   - paths go down, and OVERTIME comes, exactly at the dead time.
//
// and that nothing panics.
func FuzzReceiver(f *testing.F) {
	for _, s := range receiverSeeds() {
		f.Add(s)
	}
	// One table in memory, made afresh for each input: a file per input
	// would halve the rate.
	mem := make([]byte, shm.FileSize)
	f.Fuzz(func(t *testing.T, script []byte) {
		h := newRxHarness(t, mem)
		defer h.close()
		h.run(script)
	})
}

// Script operations: the low three bits of an op byte; bit 3 picks the
// path (0 UDP, 1 serial) where the op has one.
const (
	opUDP       = iota // u16 length (mod 600), bytes: a raw datagram on the UDP path
	opSerial           // u8 length, bytes: raw bytes on the serial line
	opFrame            // a frame signed with the key: see frame
	opReplay           // u8 k: the k-th signed frame again
	opMutate           // u8 k, u8 byte, u8 bit: the k-th signed frame with one bit flipped
	opClock            // u8 d: the clock moves on d × 2 ms
	opRestart          // a new receiver (and serial link) on the same table, as had1 restarts it
	opForge            // u8 how, u8 k: the k-th signed frame forged or cut (see forge)
	opSerialBit = 1 << 3
)

// scriptReader reads a script; past its end every read is zero.
type scriptReader struct{ b []byte }

func (r *scriptReader) u8() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *scriptReader) u16() uint16 { return uint16(r.u8())<<8 | uint16(r.u8()) }

func (r *scriptReader) bytes(n int) []byte {
	n = min(n, len(r.b))
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

// rxModel is what the receiver must have done, by SPEC §3.
type rxModel struct {
	epoch, seq   uint64 // the newest frame accepted (0, 0: none)
	accepted     uint64
	messages     uint64
	last         slots.Frame
	credited     map[uint64]uint8 // current epoch: paths that delivered each sequence number
	lastAccepted int64            // the peer's silence clock
	overtime     bool
	up           [2]bool
	pathLast     [2]int64
	heard        [2]uint64
	dropped      [2]uint64
	drops        map[int]uint64 // by slots.ExtraDrop*
}

// rxHarness is a receiver on a fresh table with a UDP path (0, frames
// handed straight to handle, as its pump does) and a serial path (1, bytes
// through the real Serial link's deframing), on a clock of its own.
type rxHarness struct {
	t      *testing.T
	tbl    *shm.Table
	udp    *commtest.End
	serial *Serial
	r      *Receiver
	now    int64
	dead   int64
	m      rxModel
	// The "peer": its epoch and sequence counters, the frames it signed.
	epoch, seq uint64
	signed     [][]byte
	step       int
	what       string // the current step, for failure messages
}

func newRxHarness(t *testing.T, mem []byte) *rxHarness {
	tbl, err := shm.New(mem, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	h := &rxHarness{t: t, tbl: tbl, udp: commtest.New(1).Path("udp0").A, epoch: 1}
	h.now = shm.Now()
	h.m.credited = map[uint64]uint8{}
	h.m.drops = map[int]uint64{}
	h.start()
	for i := range h.m.pathLast {
		h.m.pathLast[i] = h.now
	}
	h.m.lastAccepted = h.now
	return h
}

// start makes a receiver on the harness's table, as had1 starts one.
func (h *rxHarness) start() {
	h.serial = newSerial("serial0", func() (port, error) { return nil, errDown }, zerolog.Nop())
	o := receiverOptions(h.t, h.tbl, []Path{{Name: "udp0", Link: h.udp}, {Name: "serial0", Link: h.serial}})
	o.Log = zerolog.Nop() // a fuzz target's log would be megabytes
	r, err := NewReceiver(o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.r, h.dead = r, int64(o.Deadtime)
	r.restore(h.now)
}

func (h *rxHarness) close() { h.serial.Close() }

func (h *rxHarness) run(script []byte) {
	rd := &scriptReader{b: script}
	for len(rd.b) > 0 {
		h.step++
		op := rd.u8()
		path := 0
		if op&opSerialBit != 0 {
			path = 1
		}
		switch op & 7 {
		case opUDP:
			h.what = "raw datagram"
			h.datagram(rd.bytes(int(rd.u16() % 600)))
		case opSerial:
			h.what = "raw serial bytes"
			h.line(rd.bytes(int(rd.u8())))
		case opFrame:
			h.what = "signed frame"
			h.deliver(path, h.frame(rd))
		case opReplay:
			h.what = "replay"
			if b := h.pick(rd.u8()); b != nil {
				h.deliver(path, b)
			}
		case opMutate:
			h.what = "bit flip"
			k, at, bit := rd.u8(), rd.u8(), rd.u8()
			if b := h.pick(k); b != nil {
				b = bytes.Clone(b)
				b[int(at)%len(b)] ^= 1 << (bit % 8)
				h.deliver(path, b)
			}
		case opClock:
			h.what = "clock"
			h.now += int64(rd.u8()) * int64(2*time.Millisecond)
		case opRestart:
			h.what = "restart"
			h.restart()
		case opForge:
			h.what = "forgery"
			how, k := rd.u8(), rd.u8()
			if b := h.forge(how, h.pick(k)); b != nil {
				h.deliver(path, b)
			}
		}
		h.r.tick(h.now)
		h.modelTick()
		h.check()
	}
}

func (h *rxHarness) pick(k byte) []byte {
	if len(h.signed) == 0 {
		return nil
	}
	return h.signed[int(k)%len(h.signed)]
}

// frame reads a frame's fields and signs them with the key. Flag bits of
// the first byte choose: 1 a new epoch (the peer restarted), 2 the epoch
// before (a frame of its previous life), 4 an explicit sequence number
// rather than the next, 8 an explicit node id, 16 raw kind, state and held
// bytes (mostly invalid) rather than valid ones.
func (h *rxHarness) frame(rd *scriptReader) []byte {
	g := rd.u8()
	epoch := h.epoch
	switch {
	case g&1 != 0:
		h.epoch++
		h.seq = 0
		epoch = h.epoch
	case g&2 != 0:
		epoch = h.epoch - 1 // 0 when the peer is in its first epoch: invalid
	}
	var seq uint64
	if g&4 != 0 {
		seq = uint64(rd.u16())
	} else {
		h.seq++
		seq = h.seq
	}
	node := byte(2)
	if g&8 != 0 {
		node = rd.u8() % 4
	}
	kind, state, held := rd.u8(), rd.u8(), rd.u8()
	if g&16 == 0 {
		kind, state, held = kind%6, 1+state%4, held%4
	}
	flags, req := rd.u8(), uint32(rd.u16())
	b := signFrame(testKey, 1, testCluster, node, kind, state, flags, uint16(held), epoch, seq, int64(h.step), req)
	h.signed = append(h.signed, b)
	return b
}

// forge turns a signed frame into one the receiver must refuse.
func (h *rxHarness) forge(how byte, b []byte) []byte {
	if b == nil {
		return nil
	}
	f, _ := parseFrameBytes(b)
	other := bytes.Repeat([]byte("w"), 32)
	switch how % 6 {
	case 0: // signed with a key that is not the cluster's
		return signFrame(other, 1, f.cluster, f.node, f.kind, f.state, f.flags, f.held, f.epoch, f.seq, f.time, f.req)
	case 1: // the cluster's key under an id the receiver does not have
		return signFrame(testKey, 2, f.cluster, f.node, f.kind, f.state, f.flags, f.held, f.epoch, f.seq, f.time, f.req)
	case 2: // another cluster (signed with its own key: the key is ours here, which must not matter)
		return signFrame(testKey, 1, f.cluster+1, f.node, f.kind, f.state, f.flags, f.held, f.epoch, f.seq, f.time, f.req)
	case 3: // cut short
		return b[:int(how)%len(b)]
	case 4: // one byte more
		return append(bytes.Clone(b), how)
	default: // a newer sequence number under the old MAC: the replay attacker's dream
		c := bytes.Clone(b)
		binary.BigEndian.PutUint64(c[21:], f.seq+1+uint64(how))
		return c
	}
}

// restart replaces the receiver, as had1 does after a crash, on the same
// table; the serial link is a new one, as the new process opens the line
// again.
func (h *rxHarness) restart() {
	h.serial.Close()
	h.start()
	// A restarted receiver trusts no old timestamp: its silence clocks
	// start now. Its replay window and its path slots are the old ones;
	// of the paths each recent frame came on it knows the newest frame's
	// only. The drop counters are saved at liveness bumps, so the
	// model takes what was saved.
	for i := range h.m.pathLast {
		h.m.pathLast[i] = h.now
	}
	h.m.lastAccepted = h.now
	h.m.credited = map[uint64]uint8{}
	if h.m.accepted > 0 {
		h.m.credited[h.m.seq] = pathBit(int(h.m.last.Path))
	}
	for _, x := range []int{slots.ExtraDropCluster, slots.ExtraDropMAC, slots.ExtraDropReplay, slots.ExtraDropShort, slots.ExtraDropInvalid} {
		h.m.drops[x] = h.r.own.Rec.Extra[x]
	}
}

// deliver sends frame b on path i: as a datagram, or framed on the
// serial line (with a length byte even where it is too long for one, as a
// broken sender would).
func (h *rxHarness) deliver(i int, b []byte) {
	if i == 0 {
		h.datagram(b)
		return
	}
	if len(b) == 0 || len(b) > 255 {
		h.line(b)
		return
	}
	w := append([]byte{wire.SerialSync, wire.SerialSync, byte(len(b))}, b...)
	h.line(binary.BigEndian.AppendUint32(w, crc32.ChecksumIEEE(w[2:])))
}

// datagram hands b to the receiver as the UDP link would: read into a
// buffer of wire.MaxFrame+1 bytes, so the kernel cuts a longer datagram
// there.
func (h *rxHarness) datagram(b []byte) {
	if len(b) > wire.MaxFrame+1 {
		b = b[:wire.MaxFrame+1]
	}
	h.expect(0, b)
	h.r.handle(0, b, h.now, time.Now().UnixNano())
}

// line puts bytes on the serial line: the link's deframer finds what
// payloads it can, and each goes to the receiver as its pump hands it.
func (h *rxHarness) line(b []byte) {
	h.serial.pending = b
	for {
		p, ok := h.serial.next()
		if !ok {
			return
		}
		h.expect(1, p)
		h.r.handle(1, p, h.now, time.Now().UnixNano())
	}
}

// frameBytes is a frame as read here from its bytes, by the layout in
// wire/frame.go's comment.
type frameBytes struct {
	cluster                  uint32
	node, kind, state, flags byte
	held                     uint16
	epoch, seq               uint64
	time                     int64
	req                      uint32
	keyID                    byte
}

func parseFrameBytes(b []byte) (frameBytes, bool) {
	if len(b) != 86 {
		return frameBytes{}, false
	}
	be := binary.BigEndian
	return frameBytes{cluster: be.Uint32(b[3:]), node: b[7], kind: b[8], state: b[9], flags: b[10], held: be.Uint16(b[11:]),
		epoch: be.Uint64(b[13:]), seq: be.Uint64(b[21:]), time: int64(be.Uint64(b[29:])), req: be.Uint32(b[37:]), keyID: b[53]}, true
}

// signFrame lays a frame out by hand and signs it with HMAC-SHA256 under
// key, whatever its fields: frames the codec would refuse to encode too.
func signFrame(key []byte, keyID byte, cluster uint32, node, kind, state, flags byte, held uint16, epoch, seq uint64, tm int64, req uint32) []byte {
	b := []byte{'H', 'D', 1}
	b = binary.BigEndian.AppendUint32(b, cluster)
	b = append(b, node, kind, state, flags)
	b = binary.BigEndian.AppendUint16(b, held)
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(tm))
	b = binary.BigEndian.AppendUint32(b, req)
	b = binary.BigEndian.AppendUint64(b, 0) // echo time
	b = binary.BigEndian.AppendUint32(b, 0) // echo delay
	b = append(b, keyID)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(b)
}

// expect updates the model with what the receiver must do with b from path
// i, judged from the bytes alone.
func (h *rxHarness) expect(i int, b []byte) {
	m := &h.m
	drop := func(x int) {
		m.drops[x]++
		m.dropped[i]++
	}
	switch {
	case len(b) < 3:
		drop(slots.ExtraDropShort)
		return
	case b[0] != 'H' || b[1] != 'D' || b[2] != 1:
		drop(slots.ExtraDropInvalid) // not a frame, or another protocol version
		return
	case len(b) != 86:
		drop(slots.ExtraDropShort) // truncated or oversized
		return
	}
	f, _ := parseFrameBytes(b)
	if f.cluster != testCluster {
		drop(slots.ExtraDropCluster)
		return
	}
	mac := hmac.New(sha256.New, testKey)
	mac.Write(b[:54])
	if f.keyID != 1 || !hmac.Equal(mac.Sum(nil), b[54:]) {
		drop(slots.ExtraDropMAC)
		return
	}
	// Signed with the key from here on.
	if f.kind > 5 || f.state < 1 || f.state > 4 || f.node != 2 || f.held > 3 || f.epoch == 0 || f.seq == 0 {
		drop(slots.ExtraDropInvalid)
		return
	}
	if f.epoch < m.epoch || f.epoch == m.epoch && f.seq <= m.seq {
		// Not news. A copy of one of the last 64 frames of the current
		// epoch, new on this path: the path is heard, nothing else.
		if f.epoch == m.epoch && m.seq-f.seq < recentWindow && m.credited[f.seq]&pathBit(i) == 0 {
			m.credited[f.seq] |= pathBit(i)
			h.modelHeard(i)
			return
		}
		drop(slots.ExtraDropReplay)
		return
	}
	if f.epoch != m.epoch {
		m.credited = map[uint64]uint8{}
	}
	m.epoch, m.seq = f.epoch, f.seq
	m.credited[f.seq] = pathBit(i)
	h.modelHeard(i)
	m.accepted++
	m.lastAccepted, m.overtime = h.now, false
	m.last = slots.Frame{Kind: wire.Kind(f.kind), State: wire.State(f.state), Held: wire.Groups(f.held), Flags: wire.Flags(f.flags),
		Path: uint8(i), ReqID: f.req, Epoch: f.epoch, Seq: f.seq, Heard: h.now, Sent: f.time}
	if f.kind != 0 {
		m.messages++
	}
}

func (h *rxHarness) modelHeard(i int) {
	h.m.up[i], h.m.pathLast[i] = true, h.now
	h.m.heard[i]++
}

func (h *rxHarness) modelTick() {
	m := &h.m
	for i := range m.up {
		if m.up[i] && h.now-m.pathLast[i] >= h.dead {
			m.up[i] = false
		}
	}
	if !m.overtime && m.accepted > 0 && h.now-m.lastAccepted >= h.dead {
		m.overtime = true
	}
}

func (h *rxHarness) check() {
	t, m := h.t, &h.m
	at := fmt.Sprintf("step %d (%s)", h.step, h.what)
	p := readPeer(h.tbl)
	if p.Accepted > m.accepted {
		t.Fatalf("%s: accepted %d frames, want %d: a frame without the key's MAC, or not newer than the last, got through: %+v",
			at, p.Accepted, m.accepted, p.Last)
	}
	if p.Accepted != m.accepted || p.Messages != m.messages || p.Overtime != m.overtime {
		t.Fatalf("%s: peer slot accepted %d, messages %d, overtime %v; want %d, %d, %v",
			at, p.Accepted, p.Messages, p.Overtime, m.accepted, m.messages, m.overtime)
	}
	if m.accepted > 0 && p.Last != m.last {
		t.Fatalf("%s: last frame %+v, want %+v", at, p.Last, m.last)
	}
	if m.messages > 0 {
		r, _ := h.tbl.Read(slots.MessageSlot(m.messages))
		if n, f := slots.ParseMessage(r); m.last.Kind != wire.OK && (n != m.messages || f != m.last) {
			t.Fatalf("%s: ring entry %d: got %d %+v, want %+v", at, m.messages, n, f, m.last)
		}
	}
	for i := range m.up {
		ps := readPath(h.tbl, i)
		if ps.Up != m.up[i] || ps.Heard != m.heard[i] || ps.Dropped != m.dropped[i] {
			t.Fatalf("%s: path %d: up %v heard %d dropped %d; want %v, %d, %d",
				at, i, ps.Up, ps.Heard, ps.Dropped, m.up[i], m.heard[i], m.dropped[i])
		}
	}
	for x, want := range m.drops {
		if got := h.r.own.Rec.Extra[x]; got != want {
			t.Fatalf("%s: drop counter %d: got %d, want %d", at, x, got, want)
		}
	}
}

// receiverSeeds are scripts for the cases SPEC §3 names, built with
// scriptBuilder.
func receiverSeeds() [][]byte {
	var seeds [][]byte
	add := func(b *scriptBuilder) { seeds = append(seeds, b.b) }
	// Heartbeats on both paths, each frame on UDP first, then on serial.
	add(new(scriptBuilder).hb(0).replay(0, 1).hb(0).replay(1, 1).clock(50).hb(0).replay(2, 1))
	// A frame lost on UDP arrives on serial only; then its copy is
	// replayed on serial (a replay) and on UDP (its first copy there: one
	// credit), twice (a replay).
	add(new(scriptBuilder).hb(0).hb(1).hb(0).replay(1, 1).replay(1, 0).replay(1, 0))
	// A control message, then the same bytes again on both paths.
	add(new(scriptBuilder).frame(0, 0, 3, 1, 1).replay(0, 0).replay(0, 1))
	// The peer restarts (new epoch); a frame of its old life is replayed.
	add(new(scriptBuilder).hb(0).hb(0).frame(0, 1, 0, 1, 1).replay(0, 0).frame(0, 2, 0, 1, 1))
	// Silence past the dead time: paths down, OVERTIME; late copies of
	// recent frames mark paths heard but do not clear it; a new frame does.
	add(new(scriptBuilder).hb(0).hb(0).hb(0).replay(2, 1).clock(130).replay(1, 1).replay(0, 1).clock(20).hb(1))
	// Late copies that come before the dead time (the peer silent on
	// every path since its third frame) do not hold OVERTIME off.
	add(new(scriptBuilder).hb(0).hb(0).hb(0).clock(100).replay(0, 1).replay(1, 1).clock(30))
	// The receiver restarts: the last frame and older ones stay refused.
	add(new(scriptBuilder).hb(0).hb(1).restart().replay(1, 1).replay(0, 0).replay(1, 0).hb(0))
	// Forgeries of every kind, and a bit flip in each third of a frame.
	b := new(scriptBuilder).hb(0)
	for how := byte(0); how < 6; how++ {
		b.forge(how, 0, 0).forge(how+6, 0, 1)
	}
	add(b.mutate(0, 5, 0, 0).mutate(0, 30, 7, 1).mutate(0, 70, 3, 0))
	// Signed with the key but invalid: a sequence number 0, epoch 0, our
	// own node id, unknown kind, state and groups.
	add(new(scriptBuilder).hb(0).frame(0, 4, 0, 1, 1, 0, 0).frame(0, 2, 0, 1, 1).frame(0, 8, 0, 1, 1, 1).
		frame(0, 16, 9, 9, 9))
	// Noise on the serial line around a frame; a datagram of nothing, one
	// of random bytes, an oversized one.
	add(new(scriptBuilder).serial([]byte("\x7e\x7e\x05boot: \x7e\x7e\x00 garbage\r\n")).hb(1).
		serial(bytes.Repeat([]byte{0x7e}, 20)).udp(nil).udp([]byte("random bytes")).udp(bytes.Repeat([]byte{'H', 'D', 1}, 200)))
	// A sequence number far ahead (a signed frame from far in the future
	// of this epoch) then the ordinary next ones: refused as replays.
	add(new(scriptBuilder).hb(0).frame(0, 4, 0, 1, 1, 0xff, 0xff).hb(0).hb(1))
	return seeds
}

// scriptBuilder writes FuzzReceiver scripts.
type scriptBuilder struct{ b []byte }

func pathOp(op byte, path int) byte {
	if path == 1 {
		return op | opSerialBit
	}
	return op
}

// hb: the peer's next heartbeat (N, holding nothing) on path.
func (s *scriptBuilder) hb(path int) *scriptBuilder { return s.frame(path, 0, 0, 0, 0) }

// frame: a signed frame; g as in rxHarness.frame, then the explicit
// fields g asks for (sequence u16, node), then kind, state (0 N, 1 T, 2 R,
// 3 D unless g has 16), held, flags, request id.
func (s *scriptBuilder) frame(path int, g, kind, state, held byte, explicit ...byte) *scriptBuilder {
	s.b = append(s.b, pathOp(opFrame, path), g)
	s.b = append(s.b, explicit...)
	s.b = append(s.b, kind, state, held, 0, 0, 1)
	return s
}

func (s *scriptBuilder) replay(k byte, path int) *scriptBuilder {
	s.b = append(s.b, pathOp(opReplay, path), k)
	return s
}

func (s *scriptBuilder) mutate(k, at, bit byte, path int) *scriptBuilder {
	s.b = append(s.b, pathOp(opMutate, path), k, at, bit)
	return s
}

func (s *scriptBuilder) forge(how, k byte, path int) *scriptBuilder {
	s.b = append(s.b, pathOp(opForge, path), how, k)
	return s
}

// clock: d × 2 ms pass.
func (s *scriptBuilder) clock(d byte) *scriptBuilder {
	s.b = append(s.b, opClock, d)
	return s
}

func (s *scriptBuilder) restart() *scriptBuilder {
	s.b = append(s.b, opRestart)
	return s
}

func (s *scriptBuilder) udp(p []byte) *scriptBuilder {
	s.b = append(s.b, opUDP, byte(len(p)>>8), byte(len(p)))
	s.b = append(s.b, p...)
	return s
}

func (s *scriptBuilder) serial(p []byte) *scriptBuilder {
	s.b = append(s.b, opSerial, byte(len(p)))
	s.b = append(s.b, p...)
	return s
}
