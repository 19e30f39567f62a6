package tables

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/mdlayher/ndp"
)

func TestBuildNA(t *testing.T) {
	mac := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	got, err := BuildNA(mac, netip.MustParseAddr("2001:db8::100"))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		136, 0, // ICMPv6 type: neighbour advertisement, code 0
		0x00, 0x00, // checksum: the kernel's
		0x20, 0x00, 0x00, 0x00, // flags: Override only (not Router, not Solicited)
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // target: the VIP
		2, 1, // option: target link-layer address, 8 bytes
		0x02, 0x11, 0x22, 0x33, 0x44, 0x55, // our MAC
	}
	if !bytes.Equal(got, want) || len(got) != NALen {
		t.Errorf("got  % x\nwant % x", got, want)
	}
	// Whatever is built parses back to the same advertisement.
	m, err := ndp.ParseMessage(got)
	if err != nil {
		t.Fatal(err)
	}
	na, ok := m.(*ndp.NeighborAdvertisement)
	if !ok || !na.Override || na.Solicited || na.Router || na.TargetAddress != netip.MustParseAddr("2001:db8::100") {
		t.Errorf("parsed back: %+v", m)
	}
	for _, bad := range []string{"10.213.0.100", "::ffff:10.213.0.100"} {
		if _, err := BuildNA(mac, netip.MustParseAddr(bad)); err == nil {
			t.Errorf("BuildNA(%s): got nil, want an error", bad)
		}
	}
}

func BenchmarkBuildNA(b *testing.B) {
	mac := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	ip := netip.MustParseAddr("2001:db8::100")
	for b.Loop() {
		if _, err := BuildNA(mac, ip); err != nil {
			b.Fatal(err)
		}
	}
}
