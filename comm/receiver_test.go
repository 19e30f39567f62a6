package comm

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/commtest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// rxRig is a receiver driven by hand: frames go straight to handle and
// time to tick, on a clock the test sets.
type rxRig struct {
	t     testing.TB
	tbl   *shm.Table
	r     *Receiver
	o     ReceiverOptions
	c     *wire.Codec
	start int64
}

func receiverOptions(t testing.TB, tbl *shm.Table, paths []Path) ReceiverOptions {
	return ReceiverOptions{
		Cluster: testCluster, Peer: 2, Warntime: 150 * time.Millisecond, Deadtime: 250 * time.Millisecond,
		Liveness: 100 * time.Millisecond, HangTimeout: 1500 * time.Millisecond,
		Table: tbl, Codec: testCodec(t), Paths: paths, Log: testLog(t),
	}
}

func newRxRig(t testing.TB, npaths int) *rxRig {
	tbl := newTable(t)
	paths, _ := pathPair(commtest.New(1), npaths)
	return newRxRigOn(t, tbl, receiverOptions(t, tbl, paths))
}

func newRxRigOn(t testing.TB, tbl *shm.Table, o ReceiverOptions) *rxRig {
	t.Helper()
	r, err := NewReceiver(o)
	if err != nil {
		t.Fatal(err)
	}
	g := &rxRig{t: t, tbl: tbl, r: r, o: o, c: testCodec(t), start: shm.Now()}
	r.restore(g.start)
	return g
}

// at is the rig's clock: start plus d.
func (g *rxRig) at(d time.Duration) int64 { return g.start + int64(d) }

// frame encodes a frame from the peer (node 2), epoch 1 unless set.
func (g *rxRig) frame(f wire.Frame) []byte {
	g.t.Helper()
	if f.Epoch == 0 {
		f.Epoch = 1
	}
	if f.State == 0 {
		f.State = wire.StateNormal
	}
	if f.Node == 0 {
		f.Node = 2
	}
	if f.Cluster == 0 {
		f.Cluster = testCluster
	}
	if f.Time == 0 {
		f.Time = time.Now().UnixNano()
	}
	b, err := g.c.Append(nil, &f)
	if err != nil {
		g.t.Fatal(err)
	}
	return b
}

func (g *rxRig) handle(path int, b []byte, at time.Duration) {
	g.r.handle(path, b, g.at(at), time.Now().UnixNano())
}

func (g *rxRig) extra(i int) uint64 {
	g.r.own.Write(shm.Now())
	return readDaemon(g.t, g.tbl, shm.SlotReceiver).Extra[i]
}

func TestReceiverDedupAcrossPaths(t *testing.T) {
	g := newRxRig(t, 2)
	bell := g.tbl.BellValue(shm.BellHad2)
	b := g.frame(wire.Frame{Seq: 1, Held: wire.GroupOf(2)})
	g.handle(0, b, time.Millisecond)
	g.handle(1, b, 20*time.Millisecond) // the slow serial copy
	p := readPeer(g.tbl)
	if p.Accepted != 1 || p.Last.Seq != 1 || p.Last.Path != 0 || p.Last.Held != wire.GroupOf(2) || p.Overtime {
		t.Errorf("peer slot: got %+v, want one frame, seq 1 on path 0, holding g2", p)
	}
	for i := range 2 {
		if ps := readPath(g.tbl, i); !ps.Up || ps.Heard != 1 {
			t.Errorf("path %d: got up %v heard %d, want up, heard 1", i, ps.Up, ps.Heard)
		}
	}
	if got := g.extra(slots.ExtraDropReplay); got != 0 {
		t.Errorf("replay drops for a copy on another path: got %d, want 0", got)
	}
	if got := g.tbl.BellValue(shm.BellHad2); got != bell+1 {
		t.Errorf("had2's bell: got %d rings, want 1", got-bell)
	}
	// The same frame again on a path that already delivered it is a replay.
	g.handle(0, b, 30*time.Millisecond)
	if got := g.extra(slots.ExtraDropReplay); got != 1 {
		t.Errorf("replay drops after a second copy on one path: got %d, want 1", got)
	}
}

func TestReceiverOvertime(t *testing.T) {
	g := newRxRig(t, 2)
	dead := g.o.Deadtime
	g.handle(0, g.frame(wire.Frame{Seq: 1}), 0)
	g.handle(1, g.frame(wire.Frame{Seq: 1}), 0)
	if next := g.r.tick(g.at(dead - 1)); next != g.at(dead) {
		t.Errorf("next deadline: got start%+v, want start%+v", time.Duration(next-g.start), dead)
	}
	if readPeer(g.tbl).Overtime {
		t.Fatal("OVERTIME before the dead time")
	}
	bell := g.tbl.BellValue(shm.BellHad2)
	g.r.tick(g.at(dead))
	if p := readPeer(g.tbl); !p.Overtime {
		t.Fatalf("peer slot after the dead time on every path: got %+v, want OVERTIME", p)
	}
	if got := g.tbl.BellValue(shm.BellHad2); got == bell {
		t.Error("OVERTIME did not ring had2's bell")
	}
	for i := range 2 {
		if ps := readPath(g.tbl, i); ps.Up || ps.Downs != 1 {
			t.Errorf("path %d: got up %v downs %d, want down once", i, ps.Up, ps.Downs)
		}
	}
	bell = g.tbl.BellValue(shm.BellHad2)
	g.handle(1, g.frame(wire.Frame{Seq: 2}), dead+time.Second)
	if p := readPeer(g.tbl); p.Overtime || p.Accepted != 2 {
		t.Errorf("peer slot after a new frame: got %+v, want OVERTIME cleared, 2 accepted", p)
	}
	if got := g.tbl.BellValue(shm.BellHad2); got == bell {
		t.Error("clearing OVERTIME did not ring had2's bell")
	}
	if ps := readPath(g.tbl, 1); !ps.Up {
		t.Error("path 1 did not come back up")
	}
}

// A peer never heard is not OVERTIME: at a node's boot, judging the peer
// is had2's initdead, and "silent on every path" would be noise.
func TestReceiverNoOvertimeBeforeFirstFrame(t *testing.T) {
	g := newRxRig(t, 2)
	g.r.tick(g.at(10 * g.o.Deadtime))
	if p := readPeer(g.tbl); p.Overtime {
		t.Fatalf("peer slot with no frame ever: got %+v, want no OVERTIME", p)
	}
	g.handle(0, g.frame(wire.Frame{Seq: 1}), 11*g.o.Deadtime)
	g.r.tick(g.at(12 * g.o.Deadtime))
	if p := readPeer(g.tbl); !p.Overtime {
		t.Fatalf("peer slot after a frame and the dead time: got %+v, want OVERTIME", p)
	}
}

func TestReceiverOnePathSilent(t *testing.T) {
	g := newRxRig(t, 2)
	iv := 50 * time.Millisecond
	var at time.Duration
	for seq := uint64(1); seq <= 20; seq++ {
		b := g.frame(wire.Frame{Seq: seq})
		g.handle(0, b, at)
		if seq <= 5 { // path 1 dies after the fifth frame
			g.handle(1, b, at+time.Millisecond)
		}
		g.r.tick(g.at(at + time.Millisecond))
		at += iv
	}
	p1 := readPath(g.tbl, 1)
	if p1.Up || p1.Downs != 1 || p1.Name != "serial0" {
		t.Errorf("silent path: got %+v, want serial0 down once", p1)
	}
	r, _ := g.tbl.Read(shm.SlotPath0 + 1)
	if r.Value != shm.Warning {
		t.Errorf("silent path's record value: got %v, want WARNING", r.Value)
	}
	if p0 := readPath(g.tbl, 0); !p0.Up || p0.Heard != 20 {
		t.Errorf("live path: got %+v, want up with 20 heard", p0)
	}
	if p := readPeer(g.tbl); p.Overtime || p.Accepted != 20 {
		t.Errorf("peer slot: got %+v, want OK with 20 accepted", p)
	}
}

func TestReceiverDrops(t *testing.T) {
	g := newRxRig(t, 1)
	good := g.frame(wire.Frame{Epoch: 5, Seq: 1000})
	g.handle(0, good, 0)

	signed := func(kr *wire.Keyring, f wire.Frame) []byte {
		c, err := wire.NewCodec(kr)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Append(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	peerFrame := wire.Frame{Kind: wire.Takeover, State: wire.StateNormal, Node: 2, Cluster: testCluster, Epoch: 5, Seq: 1001}
	rng := rand.New(rand.NewSource(42))
	random := make([]byte, wire.Size)
	rng.Read(random)
	random[0] = 0 // not the magic, whatever the seed
	flipped := bytes.Clone(g.frame(wire.Frame{Epoch: 5, Seq: 1002}))
	flipped[30] ^= 1

	tests := []struct {
		name  string
		b     []byte
		extra int
	}{
		{"wrong key", signed(&wire.Keyring{Active: 1, Keys: map[uint8][]byte{1: bytes.Repeat([]byte("x"), 32)}}, peerFrame), slots.ExtraDropMAC},
		{"unknown key id", signed(&wire.Keyring{Active: 9, Keys: map[uint8][]byte{9: testKey}}, peerFrame), slots.ExtraDropMAC},
		{"flipped bit", flipped, slots.ExtraDropMAC},
		{"other cluster", g.frame(wire.Frame{Epoch: 5, Seq: 1003, Cluster: testCluster + 1}), slots.ExtraDropCluster},
		{"same frame again", good, slots.ExtraDropReplay},
		{"old sequence", g.frame(wire.Frame{Epoch: 5, Seq: 3}), slots.ExtraDropReplay},
		{"old epoch", g.frame(wire.Frame{Epoch: 4, Seq: 5000}), slots.ExtraDropReplay},
		{"truncated", good[:wire.Size-1], slots.ExtraDropShort},
		{"header only", good[:5], slots.ExtraDropShort},
		{"oversized", append(bytes.Clone(good), 0), slots.ExtraDropShort},
		{"empty", nil, slots.ExtraDropShort},
		{"random bytes", random, slots.ExtraDropInvalid},
		{"from ourselves", g.frame(wire.Frame{Epoch: 5, Seq: 1004, Node: 1}), slots.ExtraDropInvalid},
	}
	all := []int{slots.ExtraDropCluster, slots.ExtraDropMAC, slots.ExtraDropReplay, slots.ExtraDropShort,
		slots.ExtraDropInvalid, slots.ExtraDropSerial}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[int]uint64{}
			for _, x := range all {
				before[x] = g.extra(x)
			}
			dropped := readPath(g.tbl, 0).Dropped
			g.handle(0, tt.b, time.Millisecond)
			g.r.tick(g.at(2 * time.Millisecond))
			for _, x := range all {
				want := before[x]
				if x == tt.extra {
					want++
				}
				if got := g.extra(x); got != want {
					t.Errorf("drop counter %d: got %d, want %d", x, got, want)
				}
			}
			if got := readPath(g.tbl, 0).Dropped; got != dropped+1 {
				t.Errorf("path's dropped count: got %d, want %d", got, dropped+1)
			}
			if p := readPeer(g.tbl); p.Accepted != 1 || p.Last.Seq != 1000 || p.Messages != 0 {
				t.Errorf("peer slot: got %+v, want only the first frame accepted", p)
			}
		})
	}
}

// A frame within the replay window that the faster path lost still shows
// that the slow path works; it is neither accepted nor counted as a replay.
func TestReceiverLateCopyOfLostFrame(t *testing.T) {
	g := newRxRig(t, 2)
	g.handle(0, g.frame(wire.Frame{Seq: 1}), 0)
	g.handle(0, g.frame(wire.Frame{Seq: 3}), time.Millisecond) // seq 2 lost on path 0
	g.handle(1, g.frame(wire.Frame{Seq: 2}), 2*time.Millisecond)
	if got := g.extra(slots.ExtraDropReplay); got != 0 {
		t.Errorf("replay drops: got %d, want 0", got)
	}
	if p := readPath(g.tbl, 1); !p.Up || p.Heard != 1 {
		t.Errorf("slow path: got %+v, want up with one frame heard", p)
	}
	if p := readPeer(g.tbl); p.Accepted != 2 || p.Last.Seq != 3 {
		t.Errorf("peer slot: got %+v, want 2 accepted, last seq 3", p)
	}
}

// A replayed copy of one of the peer's recent frames that a path has not
// delivered (an attacker on the LAN replaying frames it captured while
// this node's end of the path was deaf) counts for that path once, and is
// never news: it neither moves SlotPeer nor holds off OVERTIME.
func TestReceiverReplayedLateCopyCreditsOnce(t *testing.T) {
	g := newRxRig(t, 2)
	var frames [][]byte
	for seq := uint64(1); seq <= 5; seq++ {
		b := g.frame(wire.Frame{Seq: seq})
		frames = append(frames, b)
		g.handle(0, b, time.Duration(seq)*time.Millisecond) // path 1 hears none of them
	}
	dead := g.o.Deadtime
	at := 5 * time.Millisecond
	for round := range 3 {
		for _, b := range frames {
			at += 10 * time.Millisecond
			g.handle(1, b, at)
			g.r.tick(g.at(at))
		}
		if p := readPath(g.tbl, 1); p.Heard != 5 {
			t.Errorf("round %d: path 1 heard %d, want 5: one credit per frame", round, p.Heard)
		}
	}
	if got := g.extra(slots.ExtraDropReplay); got != 10 {
		t.Errorf("replay drops: got %d, want 10 (rounds 2 and 3)", got)
	}
	// The last credit came 150 ms after the peer's last frame; OVERTIME
	// is due at the dead time after that frame all the same.
	g.r.tick(g.at(5*time.Millisecond + dead - 1))
	if readPeer(g.tbl).Overtime {
		t.Fatal("OVERTIME before the dead time")
	}
	g.r.tick(g.at(5*time.Millisecond + dead))
	if p := readPeer(g.tbl); !p.Overtime || p.Accepted != 5 || p.Last.Seq != 5 || p.Last.Path != 0 {
		t.Fatalf("peer slot: got %+v, want OVERTIME, 5 accepted, last seq 5 from path 0", p)
	}
	// Frames 64 or more behind the newest are replays even on a path that
	// never delivered them.
	six := g.frame(wire.Frame{Seq: 6})
	g.handle(0, six, dead+time.Second)
	g.handle(0, g.frame(wire.Frame{Seq: 6 + recentWindow}), dead+time.Second)
	old := g.extra(slots.ExtraDropReplay)
	g.handle(1, six, dead+time.Second)
	if got := g.extra(slots.ExtraDropReplay); got != old+1 {
		t.Errorf("a copy 64 frames behind: replay drops %d, want %d", got, old+1)
	}
}

func TestReceiverRestartKeepsReplayWindow(t *testing.T) {
	g := newRxRig(t, 2)
	var frames [][]byte
	for seq := uint64(1); seq <= 5; seq++ {
		kind := wire.OK
		if seq == 4 {
			kind = wire.TakeRequest
		}
		b := g.frame(wire.Frame{Seq: seq, Kind: kind, ReqID: uint32(seq)})
		frames = append(frames, b)
		g.handle(1, b, time.Duration(seq)*time.Millisecond)
	}
	g.r.tick(g.at(10 * time.Millisecond))

	// A new receiver on the same table, as had1 restarts it.
	g2 := newRxRigOn(t, g.tbl, g.o)
	if g2.r.replay.Epoch != 1 || g2.r.replay.Seq != 5 {
		t.Fatalf("restored window: got epoch %d seq %d, want 1, 5", g2.r.replay.Epoch, g2.r.replay.Seq)
	}
	g2.handle(1, frames[4], time.Millisecond) // the last frame again, on the path that delivered it
	g2.handle(1, frames[1], 2*time.Millisecond)
	g2.handle(0, g2.frame(wire.Frame{Seq: 5, Epoch: 1}), 3*time.Millisecond)
	if p := readPeer(g.tbl); p.Accepted != 5 || p.Last.Seq != 5 {
		t.Fatalf("after old frames: got %+v, want still 5 accepted, last seq 5", p)
	}
	if got := g2.extra(slots.ExtraDropReplay); got != 1 {
		t.Errorf("replay drops: got %d, want 1 (the last frame on its own path)", got)
	}
	g2.handle(0, g2.frame(wire.Frame{Seq: 6, Kind: wire.Takeover, ReqID: 6}), 4*time.Millisecond)
	p := readPeer(g.tbl)
	if p.Accepted != 6 || p.Last.Seq != 6 || p.Messages != 2 {
		t.Fatalf("after a new frame: got %+v, want 6 accepted, last seq 6, 2 messages", p)
	}
	r, _ := g.tbl.Read(slots.MessageSlot(2))
	if n, f := slots.ParseMessage(r); n != 2 || f.Kind != wire.Takeover || f.ReqID != 6 {
		t.Errorf("ring entry 2: got %d %+v, want the TAKEOVER", n, f)
	}
	if got := g2.extra(slots.ExtraAccepted); got != 6 {
		t.Errorf("accepted counter: got %d, want 6", got)
	}
}

// A SlotPeer torn by a receiver killed mid-write is rebuilt from the ring.
func TestReceiverTornPeerSlot(t *testing.T) {
	g := newRxRig(t, 1)
	for seq := uint64(1); seq <= 3; seq++ {
		g.handle(0, g.frame(wire.Frame{Seq: seq, Kind: wire.Recover, ReqID: uint32(seq)}), 0)
	}
	tearSlot(t, g.tbl, shm.SlotPeer)
	g2 := newRxRigOn(t, g.tbl, g.o)
	if g2.r.replay.Seq != 3 || g2.r.peer.Messages != 3 {
		t.Fatalf("rebuilt window: got seq %d, %d messages; want 3, 3", g2.r.replay.Seq, g2.r.peer.Messages)
	}
	if _, err := g.tbl.Read(shm.SlotPeer); err != nil {
		t.Errorf("peer slot after the rebuild: %v", err)
	}
}

// The silence clock starts with the receiver, not at an old timestamp in
// the table.
func TestReceiverStartDoesNotTrustOldStamps(t *testing.T) {
	tbl := newTable(t)
	paths, _ := pathPair(commtest.New(1), 1)
	old := slots.Peer{Accepted: 9, Last: slots.Frame{Epoch: 1, Seq: 9, Heard: 1, State: wire.StateNormal}}
	tbl.Write(shm.SlotPeer, old.Record())
	tbl.Write(shm.SlotPath0, slots.Path{Name: "udp0", Up: true, LastHeard: 1, Heard: 9}.Record())
	tbl.Write(shm.SlotPath0+3, slots.Path{Name: "gone", Up: true}.Record())
	g := newRxRigOn(t, tbl, receiverOptions(t, tbl, paths))
	g.r.tick(g.at(g.o.Deadtime - 1))
	if p := readPeer(tbl); p.Overtime {
		t.Fatal("OVERTIME at start from an old timestamp")
	}
	if p := readPath(tbl, 0); !p.Up || p.Heard != 9 {
		t.Errorf("path slot: got %+v, want its state and counters kept", p)
	}
	if r, _ := tbl.Read(shm.SlotPath0 + 3); r.Type != shm.TypeEmpty {
		t.Errorf("slot of a path no longer configured: got type %v, want empty", r.Type)
	}
	g.r.tick(g.at(g.o.Deadtime))
	if p := readPeer(tbl); !p.Overtime {
		t.Error("no OVERTIME after the dead time from start")
	}
}

// Control messages reach the ring in order, each written before SlotPeer
// counts it: a reader that reads SlotPeer and then the ring (as had2 does)
// always finds the message SlotPeer counts.
func TestReceiverRingOrder(t *testing.T) {
	g := newRxRig(t, 1)
	const n = 3*shm.RingSize + 5
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			p := readPeer(g.tbl)
			if p.Messages == 0 {
				continue
			}
			r, err := g.tbl.Read(slots.MessageSlot(p.Messages))
			if got, _ := slots.ParseMessage(r); err == nil && got < p.Messages {
				bad = append(bad, "ring behind SlotPeer")
				return
			}
		}
	}()
	kinds := []wire.Kind{wire.TakeRequest, wire.TakeAck, wire.Takeover, wire.Recover, wire.RecoverAck}
	seq := uint64(0)
	for i := range n {
		seq++
		g.handle(0, g.frame(wire.Frame{Seq: seq}), 0) // heartbeats in between do not count
		seq++
		g.handle(0, g.frame(wire.Frame{Seq: seq, Kind: kinds[i%len(kinds)], ReqID: uint32(i + 1)}), 0)
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatal(bad[0])
	}
	if p := readPeer(g.tbl); p.Messages != n || p.Accepted != 2*n {
		t.Fatalf("peer slot: got %d messages, %d accepted; want %d, %d", p.Messages, p.Accepted, n, 2*n)
	}
	for m := uint64(n - shm.RingSize + 1); m <= n; m++ {
		r, _ := g.tbl.Read(slots.MessageSlot(m))
		got, f := slots.ParseMessage(r)
		if want := kinds[(m-1)%uint64(len(kinds))]; got != m || f.Kind != want || f.ReqID != uint32(m) || f.Seq != 2*m {
			t.Errorf("ring entry %d: got n %d kind %v req %d seq %d, want kind %v req %d seq %d",
				m, got, f.Kind, f.ReqID, f.Seq, want, m, 2*m)
		}
	}
}

func TestReceiverRTTAndGaps(t *testing.T) {
	g := newRxRig(t, 1)
	wall := time.Now().UnixNano()
	b := g.frame(wire.Frame{Seq: 1, EchoTime: wall - int64(3*time.Millisecond), EchoDelay: 1000})
	g.r.handle(0, b, g.at(0), wall)
	if p := readPath(g.tbl, 0); p.RTT != int64(2*time.Millisecond) {
		t.Errorf("rtt: got %v, want 2ms", time.Duration(p.RTT))
	}
	// An echo from the future (clock trouble) reads as zero, not negative.
	b = g.frame(wire.Frame{Seq: 2, EchoTime: wall + int64(time.Second)})
	g.r.handle(0, b, g.at(40*time.Millisecond), wall)
	if p := readPath(g.tbl, 0); p.RTT != 0 {
		t.Errorf("rtt from a future echo: got %v, want 0", time.Duration(p.RTT))
	}
	// So does one from longer ago than the dead time: our clock stepped
	// forward between the send and the echo.
	g.r.handle(0, g.frame(wire.Frame{Seq: 3, EchoTime: wall - int64(time.Hour)}), g.at(40*time.Millisecond), wall)
	if p := readPath(g.tbl, 0); p.RTT != 0 {
		t.Errorf("rtt across a clock step: got %v, want 0", time.Duration(p.RTT))
	}
	g.handle(0, g.frame(wire.Frame{Seq: 4}), 240*time.Millisecond) // 200 ms gap > warntime
	p := readPath(g.tbl, 0)
	if p.Late != 1 || p.LastGap != int64(200*time.Millisecond) || p.MaxGap != int64(200*time.Millisecond) {
		t.Errorf("gaps: got late %d last %v max %v, want 1, 200ms, 200ms", p.Late, time.Duration(p.LastGap), time.Duration(p.MaxGap))
	}
}

func TestReceiverRoleLock(t *testing.T) {
	tbl := newTable(t)
	paths, _ := pathPair(commtest.New(1), 1)
	r, err := NewReceiver(receiverOptions(t, tbl, paths))
	if err != nil {
		t.Fatal(err)
	}
	runReceiver(t, r)
	waitFor(t, 5*time.Second, "the first receiver to start", func() bool {
		return readDaemon(t, tbl, shm.SlotReceiver).Counter > 0
	})
	other, err := shm.Open(tbl.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	paths2, _ := pathPair(commtest.New(2), 1)
	r2, err := NewReceiver(receiverOptions(t, other, paths2))
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Run(context.Background()); !errors.Is(err, shm.ErrLocked) {
		t.Fatalf("second receiver: got %v, want ErrLocked", err)
	}
}

type countingLink struct {
	*commtest.End
	d Drops
}

func (c *countingLink) Dropped() Drops { return c.d }

// What links drop by themselves reaches the table at the next tick.
func TestReceiverLinkDrops(t *testing.T) {
	tbl := newTable(t)
	p := commtest.New(1).Path("udp0")
	link := &countingLink{End: p.B}
	g := newRxRigOn(t, tbl, receiverOptions(t, tbl, []Path{{"udp0", link}}))
	for _, step := range []struct {
		d                 Drops
		wantPath, wantSer uint64
	}{
		{Drops{Foreign: 3, Noise: 100}, 3, 100},
		{Drops{Foreign: 3, Noise: 100}, 3, 100},
		{Drops{Foreign: 4, Noise: 150}, 4, 150},
	} {
		link.d = step.d
		g.r.tick(shm.Now())
		if got := readPath(tbl, 0).Dropped; got != step.wantPath {
			t.Errorf("link drops %+v: path dropped %d, want %d", step.d, got, step.wantPath)
		}
		if got := g.extra(slots.ExtraDropSerial); got != step.wantSer {
			t.Errorf("link drops %+v: serial drops %d, want %d", step.d, got, step.wantSer)
		}
	}
}

// While the peer's frames come more often than half a liveness period, the
// frames' wake-ups run the timers and bump the slot: the timer loop itself
// is not woken.
func TestReceiverFramesSpareTheTimerLoop(t *testing.T) {
	tbl := newTable(t)
	paths, ends := pathPair(commtest.New(1), 1)
	o := receiverOptions(t, tbl, paths)
	o.Liveness, o.Deadtime = 200*time.Millisecond, time.Second
	r, err := NewReceiver(o)
	if err != nil {
		t.Fatal(err)
	}
	runReceiver(t, r)
	g := &rxRig{t: t, tbl: tbl, r: r, o: o, c: testCodec(t)}
	waitFor(t, 5*time.Second, "the receiver to start", func() bool {
		return readDaemon(t, tbl, shm.SlotReceiver).Counter > 0
	})
	r.mu.Lock()
	loops := r.loops
	r.mu.Unlock()
	counter := readDaemon(t, tbl, shm.SlotReceiver).Counter
	const frames, every = 100, 20 * time.Millisecond // 2 s: ten liveness periods
	for seq := range uint64(frames) {
		if err := ends[0].Send(g.frame(wire.Frame{Seq: seq + 1})); err != nil {
			t.Fatal(err)
		}
		time.Sleep(every)
	}
	waitFor(t, 5*time.Second, "every frame to be accepted", func() bool { return readPeer(tbl).Accepted == frames })
	if got := readDaemon(t, tbl, shm.SlotReceiver).Counter - counter; got < 8 {
		t.Errorf("slot bumped %d times in ten liveness periods of frames, want at least 8", got)
	}
	r.mu.Lock()
	woken := r.loops - loops
	r.mu.Unlock()
	// Without the frames' help the loop runs once a liveness period: 10.
	if woken > 4 {
		t.Errorf("the timer loop ran %d times in ten liveness periods of frames, want at most 4", woken)
	}
}
