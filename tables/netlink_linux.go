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
// DefaultLabel(dev).
func (a *NetlinkAddrs) Add(dev string, prefix netip.Prefix, label string) error {
	link, err := a.link(dev)
	if err != nil {
		return fmt.Errorf("look up %s: %w", dev, err)
	}
	if label == "" {
		label = DefaultLabel(dev)
	}
	addr := &netlink.Addr{IPNet: ipNet(prefix), Label: label}
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
	var addrs []netlink.Addr
	if a.h != nil {
		addrs, err = a.h.AddrList(link, netlink.FAMILY_V4)
	} else {
		addrs, err = netlink.AddrList(link, netlink.FAMILY_V4)
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
