package testbed

import (
	"fmt"
	"net/netip"
	"path/filepath"
)

// node returns the named node (A, B or C).
func (b *Bed) node(name string) (*node, error) {
	if n, ok := b.nodes[name]; ok {
		return n, nil
	}
	return nil, fmt.Errorf("%w %q (want A, B or C)", ErrNode, name)
}

// mustNode is node for the accessors that return plain values; a bad name
// there is a programming error in the test.
func (b *Bed) mustNode(name string) *node {
	n, err := b.node(name)
	if err != nil {
		panic(err)
	}
	return n
}

// Name is the bed's unique name, the prefix of its namespaces.
func (b *Bed) Name() string { return b.name }

// Dir is the bed's directory.
func (b *Bed) Dir() string { return b.dir }

// NS is the network namespace of node A, B, C, or "SW" for the switch.
func (b *Bed) NS(node string) string {
	if node == "SW" {
		return b.sw.ns
	}
	return b.mustNode(node).ns
}

// Prefix is the bridged LAN, 10.213.N.0/24.
func (b *Bed) Prefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, b.subnet, 0}), 24)
}

// Addr is the node's own eth0 address (10.213.N.1, .2, .10).
func (b *Bed) Addr(node string) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 213, b.subnet, b.mustNode(node).host})
}

// DirectAddr is the node's eth1 address on the direct link (A and B only;
// meaningful with Options.DirectLink).
func (b *Bed) DirectAddr(node string) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 214, b.subnet, b.mustNode(node).host})
}

// VIP suggests the i-th free address on the LAN for virtual IPs:
// 10.213.N.(100+i), i in 0..99. The bed never assigns it itself.
func (b *Bed) VIP(i int) netip.Addr {
	if i < 0 || i > 99 {
		panic(fmt.Sprintf("testbed: VIP index %d out of 0..99", i))
	}
	return netip.AddrFrom4([4]byte{10, 213, b.subnet, byte(100 + i)})
}

// MAC is the node's eth0 MAC address, lower case with colons.
func (b *Bed) MAC(node string) string { return b.mustNode(node).mac }

// DirectMAC is the node's eth1 MAC address (A and B with DirectLink).
func (b *Bed) DirectMAC(node string) string { return b.mustNode(node).mac1 }

// TTY is the path of node A's or B's end of the serial line. The link moves
// to a new /dev/pts device each time the line is restored, so reopen by this
// path.
func (b *Bed) TTY(node string) string {
	return filepath.Join(b.ttyDir, "tty"+b.mustNode(node).name)
}

// RunDir is a per-node directory, emptied by PowerOff like /run on a reboot
// and, like /run and /dev/shm, on tmpfs when the machine has /dev/shm:
// the place for a node's shared-memory table, sockets and pid files.
func (b *Bed) RunDir(node string) string {
	return filepath.Join(b.runDir, b.mustNode(node).name)
}

// LogPath is where Start(node, name, …) sends stdout and stderr. Starts of
// the same name append to the same file.
func (b *Bed) LogPath(node, name string) string {
	return filepath.Join(b.dir, "log", node+"-"+name+".log")
}
