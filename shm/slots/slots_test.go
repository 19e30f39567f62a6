package slots

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
)

// memTable is a map of records: enough to test the encodings.
type memTable map[int]shm.Record

func (m memTable) Write(slot int, r shm.Record) { m[slot] = r }
func (m memTable) Read(slot int) (shm.Record, error) {
	return m[slot], nil
}

func TestRoundTrips(t *testing.T) {
	d := Daemon{Value: shm.Warning, PID: 42, Interval: 1e9, Counter: 7, Start: 99, Phase: PhaseRunning, Text: "hello"}
	d.Extra[ExtraReplyID], d.Extra[9] = 5, 6
	if got := ParseDaemon(d.Record()); !reflect.DeepEqual(got, d) {
		t.Errorf("daemon: got %+v, want %+v", got, d)
	}
	s := Send{State: wire.StateTakeover, Held: 3, Flags: wire.FlagAdmin | wire.FlagUnhealthy}
	s.Push(Control{Kind: wire.TakeAck, Flags: wire.FlagAdmin, ReqID: 1<<32 - 1})
	if got := ParseSend(s.Record()); !reflect.DeepEqual(got, s) {
		t.Errorf("send: got %+v, want %+v", got, s)
	}
	f := Frame{Kind: wire.RecoverAck, State: wire.StateRecover, Held: 2, Flags: wire.FlagStopping, Path: 7,
		ReqID: 9, Epoch: 1 << 60, Seq: 1<<64 - 1, Heard: 123456789, Sent: -5}
	p := Peer{Overtime: true, Last: f, Messages: 3, Accepted: 4}
	if got := ParsePeer(p.Record()); !reflect.DeepEqual(got, p) {
		t.Errorf("peer: got %+v, want %+v", got, p)
	}
	if n, got := ParseMessage(Message(17, f)); n != 17 || got != f {
		t.Errorf("message: got %d %+v, want 17 %+v", n, got, f)
	}
	pa := Path{Name: "udp0", Up: true, LastHeard: 1, Heard: 2, Late: 3, Downs: 4, LastGap: 5, MaxGap: 6, Dropped: 7, RTT: 8, UpSince: 9, LossPermille: 10, Lost: 11}
	if got := ParsePath(pa.Record()); got != pa {
		t.Errorf("path: got %+v, want %+v", got, pa)
	}
	a := Admin{ID: 77, Cmd: 2}
	if got := ParseAdmin(a.Record()); got != a {
		t.Errorf("admin: got %+v, want %+v", got, a)
	}
	id := AgentID{PID: 90, Name: "web", Restarts: 3, Flags: AgentCritical | AgentService, Start: 12345, Rise: 2}
	if got := ParseAgentID(id.Record()); got != id {
		t.Errorf("agent ID: got %+v, want %+v", got, id)
	}
}

func TestSendSince(t *testing.T) {
	var s Send
	for i := 1; i <= 11; i++ {
		s.Push(Control{Kind: wire.TakeAck, ReqID: uint32(i)})
	}
	tests := []struct {
		seen     uint64
		wantIDs  []uint32
		wantLost uint64
	}{
		{11, nil, 0},
		{9, []uint32{10, 11}, 0},
		{3, []uint32{4, 5, 6, 7, 8, 9, 10, 11}, 0},
		{0, []uint32{4, 5, 6, 7, 8, 9, 10, 11}, 3},
	}
	for _, tt := range tests {
		msgs, lost := s.Since(tt.seen)
		var ids []uint32
		for _, m := range msgs {
			ids = append(ids, m.ReqID)
		}
		if !reflect.DeepEqual(ids, tt.wantIDs) || lost != tt.wantLost {
			t.Errorf("Since(%d) = %v lost %d, want %v lost %d", tt.seen, ids, lost, tt.wantIDs, tt.wantLost)
		}
	}
}

func TestSnapshotBuffers(t *testing.T) {
	m := memTable{}
	if _, _, ok := ReadSnapshot(m); ok {
		t.Fatal("empty table: ReadSnapshot ok, want none")
	}
	one := bytes.Repeat([]byte{1}, 160)
	two := bytes.Repeat([]byte{2}, 150)
	if err := WriteSnapshot(m, 1, one); err != nil {
		t.Fatal(err)
	}
	if err := WriteSnapshot(m, 2, two); err != nil {
		t.Fatal(err)
	}
	if b, gen, ok := ReadSnapshot(m); !ok || gen != 2 || !bytes.Equal(b, two) {
		t.Fatalf("ReadSnapshot = gen %d ok %v len %d, want gen 2 and the second snapshot", gen, ok, len(b))
	}
	// A writer that died between the two halves of generation 3 (which
	// goes to buffer 1, over generation 1): generation 2 is still whole.
	half := shm.Record{Type: shm.TypeFSM, Counter: 3, Value: 160}
	m[shm.SlotFSM0+2] = half
	if b, gen, ok := ReadSnapshot(m); !ok || gen != 2 || !bytes.Equal(b, two) {
		t.Fatalf("after a torn write: gen %d ok %v, want gen 2", gen, ok)
	}
	if err := WriteSnapshot(m, 4, make([]byte, SnapshotMax+1)); err == nil {
		t.Fatal("oversized snapshot accepted")
	}
}

func TestEventsRing(t *testing.T) {
	m := memTable{}
	write := func(n uint64) {
		m[EventSlot(n)] = Event{N: n, Level: shm.Warning, Kind: EventTransition, Time: int64(n), From: wire.StateNormal, To: wire.StateDown, Text: "x"}.Record()
		d := Daemon{}
		d.Extra[ExtraEvents] = n
		m[shm.SlotHad2] = d.Record()
	}
	for n := uint64(1); n <= 3; n++ {
		write(n)
	}
	evs, newest := ReadEvents(m, 0)
	if len(evs) != 3 || newest != 3 || evs[0].N != 1 || evs[2].To != wire.StateDown || evs[1].Kind != EventTransition {
		t.Fatalf("ReadEvents(0) = %+v, %d", evs, newest)
	}
	if evs, _ := ReadEvents(m, 3); len(evs) != 0 {
		t.Fatalf("nothing new: got %+v", evs)
	}
	for n := uint64(4); n <= 40; n++ {
		write(n)
	}
	evs, newest = ReadEvents(m, 3)
	if newest != 40 || len(evs) != shm.EventRing || evs[0].N != 40-shm.EventRing+1 {
		t.Fatalf("after the ring wrapped: %d events from %d, newest %d", len(evs), evs[0].N, newest)
	}
	if evs, newest := ReadEvents(m, 100); newest != 40 || len(evs) != shm.EventRing {
		t.Fatalf("a reader ahead of a new table: %d events, newest %d; want it to read the new table from the start", len(evs), newest)
	}
}

func TestSchedWord(t *testing.T) {
	tests := []struct {
		in   Sched
		text string
	}{
		{Sched{}, "other"},
		{Sched{Policy: SchedRR, Priority: 20, Lock: LockOnFault}, "rr:20 mlock onfault"},
		{Sched{Policy: SchedFIFO, Priority: 99, Lock: LockCurrent}, "fifo:99 mlock current"},
		{Sched{Lock: LockAll, Denied: true}, "other mlock all (realtime denied)"},
	}
	for _, tt := range tests {
		got, ok := ParseSched(tt.in.Word())
		if !ok || got != tt.in {
			t.Errorf("%+v: round trip got %+v, %v", tt.in, got, ok)
		}
		if got.String() != tt.text {
			t.Errorf("%+v: got %q, want %q", tt.in, got.String(), tt.text)
		}
	}
	if _, ok := ParseSched(0); ok {
		t.Error("word 0 (not filled in): got ok")
	}
}
