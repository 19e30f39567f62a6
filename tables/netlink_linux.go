package tables

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NetlinkAddrs adds and removes addresses with netlink.
type NetlinkAddrs struct {
	h *netlink.Handle
}

var _ Addrs = (*NetlinkAddrs)(nil)

// NewNetlinkAddrs returns Addrs working through h, or in the calling
// thread's network namespace when h is nil (production: had runs inside
// the node's namespace; tests pass netlink.NewHandleAt).
func NewNetlinkAddrs(h *netlink.Handle) *NetlinkAddrs { return &NetlinkAddrs{h: h} }

func (a *NetlinkAddrs) link(dev string) (netlink.Link, error) {
	if a.h != nil {
		return a.h.LinkByName(dev)
	}
	return netlink.LinkByName(dev)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Add adds prefix to dev with AddrReplace, which succeeds when the address
// is there already (AddrAdd would fail with EEXIST). An empty label becomes
// DefaultLabel(dev) for IPv4. IPv6 addresses get IFA_F_NODAD and no label.
func (a *NetlinkAddrs) Add(dev string, prefix netip.Prefix, label string) error {
	link, err := a.link(dev)
	if err != nil {
		return fmt.Errorf("look up %s: %w", dev, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(prefix)}
	if prefix.Addr().Is4() {
		if label == "" {
			label = DefaultLabel(dev)
		}
		addr.Label = label
	} else {
		// Without NODAD the address stays "tentative", unusable as a
		// source and for binding, while DAD runs (a second or more), and
		// a DAD failure would leave it unusable for good.
		addr.Flags = unix.IFA_F_NODAD
	}
	if a.h != nil {
		err = a.h.AddrReplace(link, addr)
	} else {
		err = netlink.AddrReplace(link, addr)
	}
	if err != nil {
		return fmt.Errorf("replace address: %w", err)
	}
	return nil
}

// Del removes prefix from dev. A missing address (EADDRNOTAVAIL) or a
// missing device is success: either way the address is not held.
func (a *NetlinkAddrs) Del(dev string, prefix netip.Prefix) error {
	link, err := a.link(dev)
	if err != nil {
		if _, ok := errors.AsType[netlink.LinkNotFoundError](err); ok {
			return nil
		}
		return fmt.Errorf("look up %s: %w", dev, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(prefix)}
	if a.h != nil {
		err = a.h.AddrDel(link, addr)
	} else {
		err = netlink.AddrDel(link, addr)
	}
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("delete address: %w", err)
	}
	return nil
}

// Has reports whether dev holds prefix's address with prefix's length. A
// missing device holds nothing.
func (a *NetlinkAddrs) Has(dev string, prefix netip.Prefix) (bool, error) {
	link, err := a.link(dev)
	if err != nil {
		if _, ok := errors.AsType[netlink.LinkNotFoundError](err); ok {
			return false, nil
		}
		return false, fmt.Errorf("look up %s: %w", dev, err)
	}
	family := netlink.FAMILY_V4
	if prefix.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	var addrs []netlink.Addr
	// A dump that addresses changed under is redone: the vip guard asks
	// just when they change.
	for try := 0; ; try++ {
		if a.h != nil {
			addrs, err = a.h.AddrList(link, family)
		} else {
			addrs, err = netlink.AddrList(link, family)
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) || try == 2 {
			break
		}
	}
	if err != nil {
		return false, fmt.Errorf("list addresses of %s: %w", dev, err)
	}
	for _, ad := range addrs {
		ip, ok := netip.AddrFromSlice(ad.IP)
		ones, _ := ad.Mask.Size()
		if ok && ip.Unmap() == prefix.Addr() && ones == prefix.Bits() {
			return true, nil
		}
	}
	return false, nil
}
