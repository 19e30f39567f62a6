package comm

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/commtest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

func senderOptions(t testing.TB, tbl *shm.Table, paths []Path) SenderOptions {
	return SenderOptions{
		Cluster: testCluster, Node: 1, Interval: 50 * time.Millisecond,
		Liveness: 100 * time.Millisecond, HangTimeout: 1500 * time.Millisecond, BrainGrace: 3 * time.Second,
		Table: tbl, Codec: testCodec(t), Paths: paths, Log: testLog(t),
	}
}

func newTestSender(t testing.TB, o SenderOptions) *Sender {
	t.Helper()
	s, err := NewSender(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runSender runs s until the test ends or stop is called.
func runSender(t testing.TB, s *Sender) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("sender Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestSenderHeartbeatFollowsSlotSend(t *testing.T) {
	tbl := newTable(t)
	paths, peer := pathPair(commtest.New(1), 2)
	o := senderOptions(t, tbl, paths)
	s := newTestSender(t, o)
	c := testCodec(t)
	writeSend(tbl, slots.Send{State: wire.StateNormal, Held: wire.GroupOf(1)})
	now := shm.Now()
	s.restore(now)

	check := func(step string, want []wire.Frame) {
		t.Helper()
		for i, e := range peer {
			got := decodeAll(t, c, e)
			if len(got) != len(want) {
				t.Fatalf("%s, path %d: got %d frames, want %d: %+v", step, i, len(got), len(want), got)
			}
			for k := range got {
				g, w := got[k], want[k]
				if g.Kind != w.Kind || g.State != w.State || g.Held != w.Held || g.Seq != w.Seq ||
					g.Epoch != testEpoch || g.Node != 1 || g.Cluster != testCluster || g.Time == 0 {
					t.Errorf("%s, path %d, frame %d: got %+v, want kind %v state %v held %v seq %d epoch %d",
						step, i, k, g, w.Kind, w.State, w.Held, w.Seq, testEpoch)
				}
			}
		}
	}
	iv := int64(o.Interval)
	next := s.step(now, time.Now().UnixNano())
	check("first step", []wire.Frame{{Kind: wire.OK, State: wire.StateNormal, Held: wire.GroupOf(1), Seq: 1}})
	if next != now+iv {
		t.Errorf("next wake after a heartbeat: got now%+d, want now%+d", next-now, iv)
	}
	s.step(now+iv/2, time.Now().UnixNano())
	check("half an interval later", nil)

	// A new state goes out at once, not at the next period.
	writeSend(tbl, slots.Send{State: wire.StateTakeover, Held: wire.GroupOf(1) | wire.GroupOf(2)})
	s.step(now+iv/2+1, time.Now().UnixNano())
	check("state changed", []wire.Frame{{Kind: wire.OK, State: wire.StateTakeover, Held: 3, Seq: 2}})
	s.step(now+iv/2+1+iv, time.Now().UnixNano())
	check("one period after the change", []wire.Frame{{Kind: wire.OK, State: wire.StateTakeover, Held: 3, Seq: 3}})

	if got := readDaemon(t, tbl, shm.SlotSender).Extra[slots.ExtraSeq]; got != 3 {
		t.Errorf("persisted seq: got %d, want 3", got)
	}
}

func TestSenderWaitsForFirstSlotSend(t *testing.T) {
	tbl := newTable(t)
	paths, peer := pathPair(commtest.New(1), 1)
	s := newTestSender(t, senderOptions(t, tbl, paths))
	now := shm.Now()
	s.restore(now)
	s.step(now, time.Now().UnixNano())
	s.step(now+int64(time.Second), time.Now().UnixNano())
	if got := decodeAll(t, testCodec(t), peer[0]); len(got) != 0 {
		t.Fatalf("before had2 published a state: got %d frames, want none", len(got))
	}
}

func TestSenderControlMessages(t *testing.T) {
	tbl := newTable(t)
	paths, peer := pathPair(commtest.New(1), 1)
	s := newTestSender(t, senderOptions(t, tbl, paths))
	c := testCodec(t)
	send := slots.Send{State: wire.StateNormal, Held: wire.GroupOf(1), Flags: wire.FlagUnhealthy}
	writeSend(tbl, send)
	now := shm.Now()
	s.restore(now)
	s.step(now, time.Now().UnixNano())
	decodeAll(t, c, peer[0])

	send.Push(slots.Control{Kind: wire.TakeRequest, ReqID: 11})
	send.Push(slots.Control{Kind: wire.Takeover, Flags: wire.FlagAdmin, ReqID: 12})
	writeSend(tbl, send)
	s.step(now+1, time.Now().UnixNano())
	got := decodeAll(t, c, peer[0])
	want := []wire.Frame{
		{Kind: wire.TakeRequest, ReqID: 11, Seq: 2, Flags: wire.FlagUnhealthy},
		{Kind: wire.Takeover, ReqID: 12, Seq: 3, Flags: wire.FlagUnhealthy | wire.FlagAdmin},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.ReqID != w.ReqID || g.Seq != w.Seq || g.Flags != w.Flags || g.State != wire.StateNormal {
			t.Errorf("frame %d: got %+v, want %+v with state N", i, g, w)
		}
	}
	// Sent once only.
	s.step(now+2, time.Now().UnixNano())
	if got := decodeAll(t, c, peer[0]); len(got) != 0 {
		t.Errorf("control messages sent again: %+v", got)
	}

	// More than the queue holds before the sender looks: the newest
	// SendQueue go out, oldest first.
	for i := range slots.SendQueue + 3 {
		send.Push(slots.Control{Kind: wire.RecoverAck, ReqID: uint32(100 + i)})
	}
	writeSend(tbl, send)
	s.step(now+3, time.Now().UnixNano())
	got = decodeAll(t, c, peer[0])
	if len(got) != slots.SendQueue {
		t.Fatalf("after the queue wrapped: got %d frames, want %d", len(got), slots.SendQueue)
	}
	for i, f := range got {
		if want := uint32(103 + i); f.ReqID != want {
			t.Errorf("after the queue wrapped, frame %d: got req %d, want %d", i, f.ReqID, want)
		}
	}
}

// A control message queued by had2 leaves within about a millisecond,
// long before the next heartbeat: the bell wakes the sender.
func TestSenderControlWakesOnBell(t *testing.T) {
	tbl := newTable(t)
	paths, peer := pathPair(commtest.New(1), 1)
	o := senderOptions(t, tbl, paths)
	o.Interval, o.Liveness = 10*time.Second, 10*time.Second // nothing else would wake it
	s := newTestSender(t, o)
	c := testCodec(t)
	send := slots.Send{State: wire.StateNormal, Held: wire.GroupOf(1)}
	writeSend(tbl, send)
	runSender(t, s)
	if _, err := peer[0].RecvTimeout(5 * time.Second); err != nil {
		t.Fatalf("first heartbeat: %v", err)
	}
	var lat []time.Duration
	for i := range 50 {
		send.Push(slots.Control{Kind: wire.TakeAck, ReqID: uint32(i + 1)})
		start := time.Now()
		writeSend(tbl, send) // writes SlotSend and rings the bell, as had2 does
		b, err := peer[0].RecvTimeout(2 * time.Second)
		if err != nil {
			t.Fatalf("control message %d: %v", i+1, err)
		}
		lat = append(lat, time.Since(start))
		f, err := c.Decode(b, testCluster)
		if err != nil || f.Kind != wire.TakeAck || f.ReqID != uint32(i+1) {
			t.Fatalf("control message %d: got %+v, %v; want TAKEACK req %d", i+1, f, err, i+1)
		}
	}
	slices.Sort(lat)
	t.Logf("SlotSend write to frame on the path: p50 %v, p90 %v, max %v", lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1])
	if lat[len(lat)/2] > 100*time.Millisecond {
		t.Errorf("median latency %v: the bell did not wake the sender", lat[len(lat)/2])
	}
}

func TestSenderSeqContinuesAfterRestart(t *testing.T) {
	tbl := newTable(t)
	net := commtest.New(1)
	paths, peer := pathPair(net, 1)
	o := senderOptions(t, tbl, paths)
	o.Interval = 2 * time.Millisecond
	c := testCodec(t)
	writeSend(tbl, slots.Send{State: wire.StateNormal, Held: wire.GroupOf(1)})

	var frames []wire.Frame
	collect := func(n int) {
		t.Helper()
		for len(frames) < n {
			b, err := peer[0].RecvTimeout(5 * time.Second)
			if err != nil {
				t.Fatalf("frame %d: %v", len(frames)+1, err)
			}
			f, err := c.Decode(b, testCluster)
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, f)
		}
	}
	stop := runSender(t, newTestSender(t, o))
	collect(5)
	stop()
	frames = append(frames, decodeAll(t, c, peer[0])...)
	last := frames[len(frames)-1]

	// A new sender on the same table, as had1 would start it; the old path
	// ends were closed by the first Run, so give it new ones.
	p := net.Path("udp0")
	o.Paths = []Path{{Name: "udp0", Link: p.A}}
	peer[0] = p.B
	n := len(frames)
	runSender(t, newTestSender(t, o))
	collect(n + 1)
	first := frames[n]
	if first.Epoch != last.Epoch || first.Seq != last.Seq+1 {
		t.Fatalf("after restart: got epoch %d seq %d, want epoch %d seq %d", first.Epoch, first.Seq, last.Epoch, last.Seq+1)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].Seq != frames[i-1].Seq+1 {
			t.Errorf("frame %d: seq %d after %d", i, frames[i].Seq, frames[i-1].Seq)
		}
	}
}

// A sender killed in the middle of writing its slot leaves it torn; the
// next one cannot read the sequence number and must still be above it.
func TestSenderTornSlotRestartsAboveOldSeq(t *testing.T) {
	tbl := newTable(t)
	paths, _ := pathPair(commtest.New(1), 1)
	s := newTestSender(t, senderOptions(t, tbl, paths))
	// Far more frames than a sender sends in the table's life so far.
	old := uint64(shm.Now()-tbl.Created()) / 2000
	d := slots.Daemon{Extra: [10]uint64{slots.ExtraSeq: old}}
	tbl.Write(shm.SlotSender, d.Record())
	tearSlot(t, tbl, shm.SlotSender)
	if _, err := tbl.Read(shm.SlotSender); !errors.Is(err, shm.ErrTorn) {
		t.Fatalf("torn slot reads with %v, want ErrTorn", err)
	}
	s.restore(shm.Now())
	if s.seq <= old {
		t.Fatalf("seq after a torn slot: got %d, want above %d", s.seq, old)
	}
	if got := readDaemon(t, tbl, shm.SlotSender).Extra[slots.ExtraSeq]; got != s.seq {
		t.Errorf("persisted seq: got %d, want %d", got, s.seq)
	}
}

func TestSenderBrainGrace(t *testing.T) {
	tbl := newTable(t)
	paths, peer := pathPair(commtest.New(1), 1)
	o := senderOptions(t, tbl, paths)
	o.BrainGrace = 30 * time.Millisecond
	s := newTestSender(t, o)
	c := testCodec(t)
	send := slots.Send{State: wire.StateNormal, Held: wire.GroupOf(1)}
	writeSend(tbl, send)
	tbl.Write(shm.SlotHad2, slots.Daemon{Counter: 1}.Record())
	r, _ := tbl.Read(shm.SlotHad2)
	had2At := r.Stamp
	s.restore(had2At)
	grace := int64(o.BrainGrace)

	s.step(had2At+grace, time.Now().UnixNano())
	if got := decodeAll(t, c, peer[0]); len(got) != 1 {
		t.Fatalf("had2 within its grace: got %d frames, want 1 heartbeat", len(got))
	}
	now := had2At + grace + 1 + int64(o.Interval)
	s.step(now, time.Now().UnixNano())
	if got := decodeAll(t, c, peer[0]); len(got) != 0 {
		t.Fatalf("had2 silent past its grace: got %d frames, want none", len(got))
	}
	if d := readDaemon(t, tbl, shm.SlotSender); d.Value != shm.Warning || d.Text == "" {
		t.Errorf("own slot while heartbeats stop: got value %v text %q, want WARNING with a reason", d.Value, d.Text)
	}
	// Control messages still go: had1 queues TAKEOVER in had2's stead.
	send.Push(slots.Control{Kind: wire.Takeover, Flags: wire.FlagStopping})
	writeSend(tbl, send)
	s.step(now+1, time.Now().UnixNano())
	if got := decodeAll(t, c, peer[0]); len(got) != 1 || got[0].Kind != wire.Takeover {
		t.Fatalf("control message without had2: got %+v, want one TAKEOVER", got)
	}
	// had2 is back: a heartbeat goes at once. The table stamps writes
	// with the real clock, so let it pass the test's clock first.
	waitFor(t, 5*time.Second, "the clock to pass the test's", func() bool { return shm.Now() > now+1 })
	tbl.Write(shm.SlotHad2, slots.Daemon{Counter: 2}.Record())
	r, _ = tbl.Read(shm.SlotHad2)
	s.step(r.Stamp, time.Now().UnixNano())
	if got := decodeAll(t, c, peer[0]); len(got) != 1 || got[0].Kind != wire.OK {
		t.Fatalf("had2 back: got %+v, want one heartbeat", got)
	}
	if d := readDaemon(t, tbl, shm.SlotSender); d.Value != shm.OK {
		t.Errorf("own slot after had2 came back: got value %v, want OK", d.Value)
	}
}

func TestSenderEcho(t *testing.T) {
	tbl := newTable(t)
	paths, peer := pathPair(commtest.New(1), 1)
	s := newTestSender(t, senderOptions(t, tbl, paths))
	writeSend(tbl, slots.Send{State: wire.StateNormal})
	heard := shm.Now()
	tbl.Write(shm.SlotPeer, slots.Peer{Accepted: 1, Last: slots.Frame{Epoch: 1, Seq: 9, Heard: heard, Sent: 123456789}}.Record())
	s.restore(heard)
	s.step(heard+int64(5*time.Millisecond), time.Now().UnixNano())
	got := decodeAll(t, testCodec(t), peer[0])
	if len(got) != 1 || got[0].EchoTime != 123456789 || got[0].EchoDelay != 5000 {
		t.Fatalf("got %+v, want one frame with echo time 123456789, delay 5000 µs", got)
	}
}

func TestSenderLiveness(t *testing.T) {
	tbl := newTable(t)
	paths, _ := pathPair(commtest.New(1), 1)
	o := senderOptions(t, tbl, paths)
	o.Liveness = 10 * time.Millisecond
	stop := runSender(t, newTestSender(t, o))
	first := readDaemon(t, tbl, shm.SlotSender)
	waitFor(t, 5*time.Second, "three liveness bumps", func() bool {
		return readDaemon(t, tbl, shm.SlotSender).Counter >= first.Counter+3
	})
	d := readDaemon(t, tbl, shm.SlotSender)
	start, err := daemon.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d.PID != int32(os.Getpid()) || d.Start != start || d.Phase != slots.PhaseRunning || d.Interval != int64(o.HangTimeout) {
		t.Errorf("own slot: got pid %d start %d phase %d interval %v, want %d %d %d %v",
			d.PID, d.Start, d.Phase, time.Duration(d.Interval), os.Getpid(), start, slots.PhaseRunning, o.HangTimeout)
	}
	stop()
	if got := readDaemon(t, tbl, shm.SlotSender).Phase; got != slots.PhaseStopping {
		t.Errorf("phase after a stop: got %d, want %d", got, slots.PhaseStopping)
	}
}

func TestSenderRoleLock(t *testing.T) {
	tbl := newTable(t)
	paths, _ := pathPair(commtest.New(1), 1)
	runSender(t, newTestSender(t, senderOptions(t, tbl, paths)))
	waitFor(t, 5*time.Second, "the first sender to start", func() bool {
		return readDaemon(t, tbl, shm.SlotSender).Counter > 0
	})
	other, err := shm.Open(tbl.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	paths2, _ := pathPair(commtest.New(2), 1)
	err = newTestSender(t, senderOptions(t, other, paths2)).Run(context.Background())
	if !errors.Is(err, shm.ErrLocked) {
		t.Fatalf("second sender: got %v, want ErrLocked", err)
	}
}
