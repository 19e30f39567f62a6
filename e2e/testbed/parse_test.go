package testbed

import (
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestParseNeigh(t *testing.T) {
	vip := netip.MustParseAddr("10.213.5.100")
	tests := []struct {
		name, out, mac, state string
		ok                    bool
	}{
		{"reachable", "10.213.5.100 lladdr 02:68:00:05:00:01 REACHABLE\n", "02:68:00:05:00:01", "REACHABLE", true},
		{"upper-case mac", "10.213.5.100 lladdr 02:AB:00:05:00:01 STALE\n", "02:ab:00:05:00:01", "STALE", true},
		{"incomplete", "10.213.5.100 INCOMPLETE\n", "", "INCOMPLETE", true},
		{"router flag", "10.213.5.100 lladdr 02:68:00:05:00:02 router REACHABLE", "02:68:00:05:00:02", "REACHABLE", true},
		{"other lines first", "10.213.5.1 lladdr 02:68:00:05:00:01 STALE\n10.213.5.100 lladdr 02:68:00:05:00:02 DELAY\n", "02:68:00:05:00:02", "DELAY", true},
		{"prefix of another address", "10.213.5.10 lladdr 02:68:00:05:00:0a STALE\n", "", "", false},
		{"empty", "", "", "", false},
		{"junk", "lladdr\n\n x\n", "", "", false},
	}
	for _, tt := range tests {
		mac, state, ok := parseNeigh(tt.out, vip)
		if mac != tt.mac || state != tt.state || ok != tt.ok {
			t.Errorf("%s: got (%q, %q, %v), want (%q, %q, %v)", tt.name, mac, state, ok, tt.mac, tt.state, tt.ok)
		}
	}
}

func FuzzParseNeigh(f *testing.F) {
	f.Add("10.213.5.100 lladdr 02:68:00:05:00:01 REACHABLE\n") // normal entry
	f.Add("10.213.5.100 FAILED")                               // unresolved, no MAC
	f.Add("10.213.5.100 lladdr")                               // truncated
	f.Add("::1 lladdr x y z\n\n")                              // other family
	vip := netip.MustParseAddr("10.213.5.100")
	f.Fuzz(func(t *testing.T, out string) {
		mac, state, ok := parseNeigh(out, vip)
		if !ok && (mac != "" || state != "") {
			t.Errorf("not found but got (%q, %q)", mac, state)
		}
		if ok && state == "" {
			t.Errorf("found with empty state in %q", out)
		}
	})
}

func TestDecodeReply(t *testing.T) {
	req := append([]byte("htbp"), 0, 0, 0, 0, 0, 0, 1, 2)
	tests := []struct {
		name string
		in   []byte
		node string
		seq  uint64
		ok   bool
	}{
		{"good", append([]byte("A "), req...), "A", 258, true},
		{"seq with spaces", append([]byte("B "), append([]byte("htbp"), ' ', ' ', 0, 0, 0, 0, 0, ' ')...), "B", 0x2020000000000020, true},
		{"no name", append([]byte(" "), req...), "", 0, false},
		{"no space", req, "", 0, false},
		{"short", []byte("A htbp\x00"), "", 0, false},
		{"long", append(append([]byte("A "), req...), 0), "", 0, false},
		{"bad magic", append([]byte("A xtbp"), 0, 0, 0, 0, 0, 0, 0, 1), "", 0, false},
	}
	for _, tt := range tests {
		node, seq, ok := decodeReply(tt.in)
		if node != tt.node || seq != tt.seq || ok != tt.ok {
			t.Errorf("%s: got (%q, %d, %v), want (%q, %d, %v)", tt.name, node, seq, ok, tt.node, tt.seq, tt.ok)
		}
	}
}

func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte("A htbp\x00\x00\x00\x00\x00\x00\x00\x07")) // a normal answer
	f.Add([]byte(" htbp\x00\x00\x00\x00\x00\x00\x00\x07"))  // empty name
	f.Add([]byte("A"))                                      // name only
	f.Fuzz(func(t *testing.T, in []byte) {
		node, seq, ok := decodeReply(in)
		if !ok {
			return
		}
		// Whatever decodes must re-encode to the same bytes.
		want := append([]byte(node+" htbp"), byte(seq>>56), byte(seq>>48), byte(seq>>40), byte(seq>>32), byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq))
		if string(want) != string(in) {
			t.Errorf("decode %q: got (%q, %d), which encodes to %q", in, node, seq, want)
		}
	})
}

func TestGaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(node string, ms int) Reply {
		return Reply{Node: node, Received: t0.Add(time.Duration(ms) * time.Millisecond)}
	}
	tests := []struct {
		name    string
		replies []Reply
		min     time.Duration
		want    []string // "BEFORE@ms->AFTER@ms"
	}{
		{"none", nil, time.Millisecond, nil},
		{"one", []Reply{at("A", 0)}, time.Millisecond, nil},
		{"steady", []Reply{at("A", 0), at("A", 1), at("A", 2)}, 5 * time.Millisecond, nil},
		{"failover", []Reply{at("A", 0), at("A", 1), at("B", 250), at("B", 251)}, 5 * time.Millisecond, []string{"A@1->B@250"}},
		{"exactly min", []Reply{at("A", 0), at("A", 5)}, 5 * time.Millisecond, []string{"A@0->A@5"}},
		{"two", []Reply{at("A", 0), at("B", 100), at("B", 101), at("A", 300)}, 50 * time.Millisecond, []string{"A@0->B@100", "B@101->A@300"}},
	}
	for _, tt := range tests {
		var got []string
		for _, g := range Gaps(tt.replies, tt.min) {
			got = append(got, g.Before.Node+"@"+ms(g.Before.Received.Sub(t0))+"->"+g.After.Node+"@"+ms(g.After.Received.Sub(t0)))
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
}

func ms(d time.Duration) string { return strconv.Itoa(int(d / time.Millisecond)) }
