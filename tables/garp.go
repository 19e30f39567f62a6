package tables

import (
	"encoding/binary"
	"fmt"
)

// ARPOp is the operation field of an ARP packet (RFC 826).
type ARPOp uint16

// The two operations a gratuitous ARP is sent with.
const (
	ARPRequest ARPOp = 1
	ARPReply   ARPOp = 2
)

func (op ARPOp) String() string {
	switch op {
	case ARPRequest:
		return "request"
	case ARPReply:
		return "reply"
	}
	return fmt.Sprintf("ARPOp(%d)", uint16(op))
}

// GARPFrameLen is the length of a gratuitous-ARP Ethernet frame: a 14-byte
// Ethernet header and a 28-byte ARP packet. The NIC pads it to the 60-byte
// minimum; veth sends it as is.
const GARPFrameLen = 42

// BuildGARP returns the broadcast Ethernet frame announcing that ip is at
// mac. Both forms have sender and target IP equal to ip, which is what
// makes Linux treat them as gratuitous (arp_is_garp) and update an existing
// neighbour entry even within its locktime (libraries.md §4):
//
//   - ARPRequest: target hardware address zero (RFC 5227 "ARP announcement");
//   - ARPReply: target hardware address = mac; Linux requires tha == sha for
//     a reply to count as gratuitous, so ff:ff:ff:ff:ff:ff would not do.
//
// Some hosts heed only one of the forms, hence both are sent.
func BuildGARP(op ARPOp, mac [6]byte, ip [4]byte) [GARPFrameLen]byte {
	var f [GARPFrameLen]byte
	copy(f[0:6], broadcastMAC[:])
	copy(f[6:12], mac[:])
	binary.BigEndian.PutUint16(f[12:14], etherTypeARP)
	binary.BigEndian.PutUint16(f[14:16], 1) // hardware type: Ethernet
	binary.BigEndian.PutUint16(f[16:18], etherTypeIPv4)
	f[18] = 6 // hardware address length
	f[19] = 4 // protocol address length
	binary.BigEndian.PutUint16(f[20:22], uint16(op))
	copy(f[22:28], mac[:]) // sender hardware address
	copy(f[28:32], ip[:])  // sender protocol address
	if op == ARPReply {
		copy(f[32:38], mac[:]) // target hardware address
	}
	copy(f[38:42], ip[:]) // target protocol address
	return f
}

const (
	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
)

var broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
