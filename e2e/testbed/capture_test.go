package testbed

import (
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// garpRequest is the request form of a gratuitous ARP for 10.213.5.100
// from 02:68:00:05:00:02, as had's announcer sends it (42 bytes, unpadded).
const garpRequest = "ffffffffffff" + "026800050002" + "0806" +
	"0001" + "0800" + "06" + "04" + "0001" +
	"026800050002" + "0ad50564" + "000000000000" + "0ad50564"

func TestParseARP(t *testing.T) {
	frame := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	vip := netip.MustParseAddr("10.213.5.100")
	reply := strings.Replace(garpRequest, "08060001080006040001", "08060001080006040002", 1)
	reply = reply[:len(reply)-20] + "026800050002" + "0ad50564" // reply form: tha = sha
	ask := garpRequest[:len(garpRequest)-8] + "0ad5050a"        // a plain request for .10
	tests := []struct {
		name string
		in   []byte
		want ARPPacket
		ok   bool
		grat bool
	}{
		{"request form", frame(garpRequest), ARPPacket{Op: 1, SenderMAC: "02:68:00:05:00:02", SenderIP: vip, TargetMAC: "00:00:00:00:00:00", TargetIP: vip}, true, true},
		{"reply form", frame(reply), ARPPacket{Op: 2, SenderMAC: "02:68:00:05:00:02", SenderIP: vip, TargetMAC: "02:68:00:05:00:02", TargetIP: vip}, true, true},
		{"padded to 60 bytes", frame(garpRequest + strings.Repeat("00", 18)), ARPPacket{Op: 1, SenderMAC: "02:68:00:05:00:02", SenderIP: vip, TargetMAC: "00:00:00:00:00:00", TargetIP: vip}, true, true},
		{"plain request", frame(ask), ARPPacket{Op: 1, SenderMAC: "02:68:00:05:00:02", SenderIP: vip, TargetMAC: "00:00:00:00:00:00", TargetIP: netip.MustParseAddr("10.213.5.10")}, true, false},
		{"truncated", frame(garpRequest)[:41], ARPPacket{}, false, false},
		{"not arp", frame(strings.Replace(garpRequest, "0806", "0800", 1)), ARPPacket{}, false, false},
		{"ipv6 over arp", frame(strings.Replace(garpRequest, "000108000604", "000186dd0604", 1)), ARPPacket{}, false, false},
	}
	for _, tt := range tests {
		got, ok := parseARP(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
		if got.Gratuitous() != tt.grat {
			t.Errorf("%s: gratuitous: got %v, want %v", tt.name, got.Gratuitous(), tt.grat)
		}
	}
}

func FuzzParseARP(f *testing.F) {
	b, _ := hex.DecodeString(garpRequest)
	f.Add(b)        // a gratuitous request
	f.Add(b[:20])   // cut inside the ARP body
	f.Add([]byte{}) // nothing
	f.Fuzz(func(t *testing.T, in []byte) {
		p, ok := parseARP(in)
		if !ok && p != (ARPPacket{}) {
			t.Errorf("not ARP but got %+v", p)
		}
		if ok && (!p.SenderIP.Is4() || !p.TargetIP.Is4() || len(p.SenderMAC) != 17) {
			t.Errorf("decoded a malformed packet: %+v", p)
		}
	})
}

func TestProcIOField(t *testing.T) {
	io := "rchar: 12345\nwchar: 678\nsyscr: 9\nread_bytes: 0\n"
	tests := []struct {
		name string
		want uint64
		ok   bool
	}{
		{"rchar", 12345, true},
		{"wchar", 678, true},
		{"read_bytes", 0, true},
		{"cancelled_write_bytes", 0, false},
		{"char", 0, false},
	}
	for _, tt := range tests {
		got, ok := procIOField([]byte(io), tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEventLogFirst(t *testing.T) {
	l := newEventLog[int]("number")
	t0 := time.Unix(1000, 0)
	l.add(t0, 1)
	l.add(t0.Add(time.Second), 2)
	l.add(t0, 3) // earlier than the last: clamped, order kept
	even := func(v int) bool { return v%2 == 0 }
	all := func(int) bool { return true }
	tests := []struct {
		name   string
		after  time.Time
		match  func(int) bool
		want   int
		wantAt time.Time
		ok     bool
	}{
		{"first of all", time.Time{}, all, 1, t0, true},
		{"strictly after", t0, all, 2, t0.Add(time.Second), true},
		{"matching", time.Time{}, even, 2, t0.Add(time.Second), true},
		{"clamped time", t0.Add(time.Second / 2), func(v int) bool { return v == 3 }, 3, t0.Add(time.Second), true},
		{"none after", t0.Add(time.Second), all, 0, time.Time{}, false},
	}
	for _, tt := range tests {
		at, got, err := l.first(tt.after, time.Millisecond, tt.match)
		if (err == nil) != tt.ok || got != tt.want || !at.Equal(tt.wantAt) {
			t.Errorf("%s: got %d at %v (%v); want %d at %v, ok %v", tt.name, got, at, err, tt.want, tt.wantAt, tt.ok)
		}
	}
	// A waiter is woken by a new item.
	go l.add(t0.Add(2*time.Second), 4)
	if _, got, err := l.first(t0.Add(time.Second), 10*time.Second, even); err != nil || got != 4 {
		t.Errorf("wait for a new item: got %d, %v; want 4", got, err)
	}
}

// TestCaptureAndWatch sends a gratuitous ARP from B after adding an address
// there: B's watch sees the address, C's capture sees the announcement.
func TestCaptureAndWatch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	b := New(t, Options{})
	w, err := b.WatchAddrs("B")
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.CaptureARP("C")
	if err != nil {
		t.Fatal(err)
	}
	vip := b.VIP(0)
	before := time.Now()
	if _, err := b.Exec("B", "ip", "addr", "add", vip.String()+"/32", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	at, ev, err := w.First(before, waitLong, func(e AddrEvent) bool { return e.Added && e.Prefix.Addr() == vip })
	if err != nil {
		t.Fatal(err)
	}
	if at.Before(before) || ev.Prefix.Bits() != 32 {
		t.Errorf("address event: got %+v at %v, want a /32 after %v", ev, at, before)
	}
	// The request form, sent raw from B's eth0.
	frame, _ := hexFrame(garpFor(b, vip))
	err = b.InNS("B", func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index, Halen: 6}
		copy(sa.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		return unix.Sendto(fd, frame, 0, sa)
	})
	if err != nil {
		t.Fatalf("send garp from B: %v", err)
	}
	sent := time.Now()
	at, p, err := c.First(before, waitLong, func(p ARPPacket) bool { return p.Gratuitous() && p.SenderIP == vip })
	if err != nil {
		t.Fatal(err)
	}
	if p.SenderMAC != b.MAC("B") || at.Before(before) || at.After(sent.Add(time.Second)) {
		t.Errorf("captured %+v at %v; want B's MAC %s between %v and %v", p, at, b.MAC("B"), before, sent)
	}
}

// garpFor builds the request-form announcement of vip from B, in hex.
func garpFor(b *Bed, vip netip.Addr) string {
	mac := strings.ReplaceAll(b.MAC("B"), ":", "")
	ip := hex.EncodeToString(vip.AsSlice())
	return "ffffffffffff" + mac + "0806" + "000108000604" + "0001" + mac + ip + "000000000000" + ip
}

func hexFrame(s string) ([]byte, error) { return hex.DecodeString(s) }
