package tables

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
)

// BuildNA returns the ICMPv6 message announcing that ip is at mac: an
// unsolicited neighbour advertisement (RFC 4861 §7.2.6) with the Override
// flag, so that a neighbour replaces the link-layer address it has for ip
// (as with gratuitous ARP, one without an entry creates none:
// accept_untracked_na=0), Solicited clear, as an unsolicited advertisement
// must be, and Router clear. The target link-layer address option carries
// mac. The checksum is left zero: the kernel fills it in on a raw ICMPv6
// socket.
func BuildNA(mac [6]byte, ip netip.Addr) ([]byte, error) {
	if !ip.Is6() || ip.Is4In6() {
		return nil, fmt.Errorf("build neighbour advertisement for %s: not an IPv6 address", ip)
	}
	b, err := ndp.MarshalMessage(&ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: ip.WithZone(""),
		Options: []ndp.Option{&ndp.LinkLayerAddress{
			Direction: ndp.Target,
			Addr:      net.HardwareAddr(mac[:]),
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("build neighbour advertisement for %s: %w", ip, err)
	}
	return b, nil
}

// NALen is the length of the message BuildNA returns: the 4-byte ICMPv6
// header, 4 bytes of flags, the 16-byte target and the 8-byte option.
const NALen = 32

// allNodes is where unsolicited advertisements go (RFC 4861 §7.2.6).
var allNodes = netip.MustParseAddr("ff02::1")
