package torture

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addrs []AddrEvent
		power []PowerEvent
		want  []Span
	}{
		{"handover: released before added", []AddrEvent{{at(0), "A", true}, {at(100), "A", false}, {at(101), "B", true}}, nil, nil},
		{"both hold", []AddrEvent{{at(0), "A", true}, {at(100), "B", true}, {at(130), "A", false}}, nil,
			[]Span{{at(100), at(130)}}},
		{"the holder without power does not answer", []AddrEvent{{at(0), "A", true}, {at(100), "B", true}, {at(300), "A", false}},
			[]PowerEvent{{at(50), "A", false}}, nil},
		{"power back on a node still holding it", []AddrEvent{{at(0), "A", true}, {at(100), "B", true}},
			[]PowerEvent{{at(50), "A", false}, {at(200), "A", true}}, []Span{{at(200), at(1000)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Overlaps(tc.addrs, tc.power, at(1000)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestDualARP(t *testing.T) {
	answers := []ARPAnswer{
		{Request: 1, MAC: "aa"}, {Request: 2, MAC: "aa"}, {Request: 2, MAC: "aa"}, // a duplicate, same node
		{Request: 3, MAC: "aa"}, {Request: 3, MAC: "bb"}, {Request: 3, MAC: "bb"},
		{Request: 4, MAC: "bb"},
	}
	if got := DualARP(answers); !slices.Equal(got, []uint64{3}) {
		t.Errorf("got %v; want [3]", got)
	}
}

func TestOutages(t *testing.T) {
	sent := make([]time.Time, 10)
	for i := range sent {
		sent[i] = at(i * 10)
	}
	answered := map[uint64]bool{0: true, 3: true, 4: true, 8: true} // 9 is still pending
	got := Outages(sent, answered, 2)
	want := []Outage{{Span: Span{at(10), at(30)}, Requests: 2}, {Span: Span{at(50), at(80)}, Requests: 3}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
	if got := Outages(sent, answered, 3); !slices.Equal(got, want[1:]) {
		t.Errorf("min 3: got %v; want %v", got, want[1:])
	}
	if in := Within(want, at(35), at(60)); !slices.Equal(in, want[1:]) {
		t.Errorf("Within: got %v; want %v", in, want[1:])
	}
}

func TestDarkness(t *testing.T) {
	power := []PowerEvent{{at(100), "A", false}, {at(200), "B", false}, {at(500), "A", true}, {at(600), "B", true}, {at(700), "B", false}}
	for _, tc := range []struct {
		s    Span
		want time.Duration
	}{
		{Span{at(0), at(1000)}, 300 * time.Millisecond},
		{Span{at(300), at(400)}, 100 * time.Millisecond},
		{Span{at(450), at(1000)}, 50 * time.Millisecond},
		{Span{at(520), at(1000)}, 0},
	} {
		if got := darkness(power, tc.s); got != tc.want {
			t.Errorf("darkness in %v-%v: got %v; want %v", tc.s.From.Sub(t0), tc.s.To.Sub(t0), got, tc.want)
		}
	}
}

func TestOutageBounds(t *testing.T) {
	timers := config.DefaultTimers()
	fence := 40 * time.Millisecond
	failover := timers.Deadtime + timers.AckTimeout + fence + tableBudget
	power := []PowerEvent{{at(1000), "A", false}, {at(1000), "B", false}, {at(1500), "A", true}, {at(1500), "B", true}}
	for _, tc := range []struct {
		name        string
		outages     []Outage
		longest, bd time.Duration
	}{
		{"none", nil, 0, failover},
		{"a failover", []Outage{{Span: Span{at(0), at(400)}}}, 400 * time.Millisecond, failover},
		{"the worst against its bound", []Outage{{Span: Span{at(0), at(600)}}, {Span: Span{at(1000), at(2500)}}},
			600 * time.Millisecond, failover},
		{"both dark", []Outage{{Span: Span{at(990), at(2500)}}},
			1510 * time.Millisecond, 500*time.Millisecond + timers.Initdead + tableBudget + time.Second},
		{"flapping", []Outage{{Span: Span{at(3000), at(4000)}}}, time.Second, failover + 700*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flapping := Span{at(2900), at(3700)}
			longest, bound := worstOutage(tc.outages, power, flapping, fence, timers)
			if longest != tc.longest || bound != tc.bd {
				t.Errorf("got %v (bound %v); want %v (bound %v)", longest, bound, tc.longest, tc.bd)
			}
		})
	}
}

func TestARPFrames(t *testing.T) {
	sha := [6]byte{2, 0, 0, 0, 0, 0x0a}
	req := arpRequest(sha, [4]byte{10, 213, 1, 10}, [4]byte{10, 213, 1, 100})
	op, mac, spa, tpa, ok := parseARP(req)
	if !ok || op != 1 || mac.String() != "02:00:00:00:00:0a" || spa != [4]byte{10, 213, 1, 10} || tpa != [4]byte{10, 213, 1, 100} {
		t.Errorf("parse of a request: %d %v %v %v %v", op, mac, spa, tpa, ok)
	}
	if len(req) != 60 || binary.BigEndian.Uint16(req[12:]) != 0x0806 || !slices.Equal(req[:6], net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("request frame: % x", req)
	}
	for _, bad := range [][]byte{nil, req[:41], append(append([]byte{}, req[:12]...), 0x08, 0x00)} {
		if _, _, _, _, ok := parseARP(bad); ok {
			t.Errorf("parsed % x", bad)
		}
	}
}
