package comm

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The heartbeat path's socket calls are made raw (RawSyscall6 on the
// non-blocking socket, inside RawConn.Read/Write, which wait in the
// netpoller when told to): a plain system call wakes Go's monitor thread
// (sysmon) whenever the process was idle, which is before every heartbeat,
// and that wake-up and the monitor's polling after it cost more CPU than
// the heartbeat itself (package sleeper has the figures). x/sys has no raw
// sendto or recvfrom, so the addresses are laid out here.

// rawAddr is a socket address as the kernel reads it.
type rawAddr struct {
	any unix.RawSockaddrAny
	len uint32
}

func newRawAddr(ap netip.AddrPort, scope uint32) *rawAddr {
	a := &rawAddr{}
	if ap.Addr().Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.any))
		sa.Family = unix.AF_INET
		putPort(&sa.Port, ap.Port())
		sa.Addr = ap.Addr().As4()
		a.len = unix.SizeofSockaddrInet4
		return a
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&a.any))
	sa.Family = unix.AF_INET6
	putPort(&sa.Port, ap.Port())
	sa.Addr = ap.Addr().As16()
	sa.Scope_id = scope
	a.len = unix.SizeofSockaddrInet6
	return a
}

// putPort stores port in network byte order.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// addrPort reads back the source address recvfrom filled in; invalid for
// a family other than IPv4 and IPv6.
func (a *rawAddr) addrPort() netip.AddrPort {
	switch a.any.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.any))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), getPort(&sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&a.any))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// sendTo sends b to a on the non-blocking socket fd.
func sendTo(fd uintptr, b []byte, a *rawAddr) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
		0, uintptr(unsafe.Pointer(&a.any)), uintptr(a.len))
	if errno != 0 {
		return errno
	}
	return nil
}

// recvFrom reads one datagram into b from the non-blocking socket fd (cut
// to len(b)), its source into from. unix.EAGAIN: nothing to read.
func recvFrom(fd uintptr, b []byte, from *rawAddr) (int, error) {
	for {
		from.len = unix.SizeofSockaddrAny
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
			0, uintptr(unsafe.Pointer(&from.any)), uintptr(unsafe.Pointer(&from.len)))
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, errno
	}
}
