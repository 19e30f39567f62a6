package testbed

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// The three heartbeat paths and how each is cut with iproute2 alone (no
// nftables or iptables here, and this kernel has no tc drop action):
//
//   - serial: kill socat; RestoreSerial starts a new one with the same links.
//   - LAN (bridge): the bridge ports of A and B are marked "isolated"
//     (`bridge link set dev pA isolated on`); isolated ports cannot talk to
//     each other, broadcasts included, but still talk to C. Carrier stays up,
//     so the nodes see silence, not a link event. Both directions at once.
//   - direct link: a tbf qdisc with a 1-byte bucket on eth1 of A and B drops
//     every frame, silently (UDP sends still succeed); carrier stays up.

// serialTimeout bounds the wait for socat to create its pty links.
const serialTimeout = 5 * time.Second

// CutSerial kills socat: both ttys hang up (reads see EOF or an error, writes
// EIO) and their links are removed. Cutting a cut line does nothing.
//
// A dangling link would not do: the kernel gives the dead line's /dev/pts
// numbers to the next ptys opened, often another bed's socat, and a node
// reopening its tty by the link then talks to another test's cluster
// (same cluster id and key: its frames are accepted, a newer boot epoch
// and all, and the true peer's are dropped as replays).
func (b *Bed) CutSerial() error {
	b.mu.Lock()
	p := b.socat
	b.socat = nil
	b.mu.Unlock()
	if p == nil {
		return nil
	}
	// The links go first: from the kill on, a node reopens by them.
	for _, l := range []string{b.TTY("A"), b.TTY("B")} {
		if err := os.Remove(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cut serial: %w", err)
		}
	}
	if err := p.Kill(); err != nil {
		return fmt.Errorf("cut serial: %w", err)
	}
	return nil
}

// RestoreSerial starts socat again with the same link paths and waits until
// both links exist. The ptys are new devices: reopen TTY(node) by path.
// Restoring a working line does nothing.
func (b *Bed) RestoreSerial() error {
	b.mu.Lock()
	running := b.socat != nil
	b.mu.Unlock()
	if running {
		return nil
	}
	ttyA, ttyB := b.TTY("A"), b.TTY("B")
	// Remove the dangling links so that their reappearance means "ready".
	for _, l := range []string{ttyA, ttyB} {
		if err := os.Remove(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore serial: %w", err)
		}
	}
	p, err := b.Start("SW", "socat", []string{b.opts.Socat, "-d", "-d",
		"pty,raw,echo=0,link=" + ttyA, "pty,raw,echo=0,link=" + ttyB}, nil)
	if err != nil {
		return fmt.Errorf("restore serial: %w", err)
	}
	err = poll(serialTimeout, func() (bool, error) {
		select {
		case <-p.Done():
			return false, fmt.Errorf("socat exited: %v (see %s)", p.Err(), b.LogPath("SW", "socat"))
		default:
		}
		_, errA := os.Stat(ttyA)
		_, errB := os.Stat(ttyB) // Stat follows the link: the pty exists
		return errA == nil && errB == nil, nil
	})
	if err != nil {
		_ = p.Kill()
		return fmt.Errorf("restore serial: %w", err)
	}
	b.mu.Lock()
	b.socat = p
	b.mu.Unlock()
	return nil
}

// CutUDP silently drops every frame between A and B on the bridge, in both
// directions, broadcasts included; C still reaches both (the VIP keeps
// answering). It does not touch the direct link: see CutDirect.
func (b *Bed) CutUDP() error {
	return b.isolate("on")
}

// RestoreUDP undoes CutUDP.
func (b *Bed) RestoreUDP() error {
	return b.isolate("off")
}

func (b *Bed) isolate(onOff string) error {
	cmds := []byte(fmt.Sprintf("link set dev pA isolated %s\nlink set dev pB isolated %s\n", onOff, onOff))
	if _, err := runIn(cmds, "bridge", "-n", b.sw.ns, "-batch", "-"); err != nil {
		return fmt.Errorf("set bridge isolation %s: %w", onOff, err)
	}
	return nil
}

// CutDirect silently drops every frame on the direct link, both directions;
// carrier stays up. ErrNoDirectLink without Options.DirectLink.
func (b *Bed) CutDirect() error {
	if !b.opts.DirectLink {
		return ErrNoDirectLink
	}
	for _, n := range []string{"A", "B"} {
		// rate/burst/limit of one byte: every frame is bigger than the
		// bucket, and tbf drops those.
		if _, err := run("tc", "-n", b.nodes[n].ns, "qdisc", "replace", "dev", "eth1", "root",
			"tbf", "rate", "8bit", "burst", "1", "limit", "1"); err != nil {
			return fmt.Errorf("cut direct link: %w", err)
		}
	}
	return nil
}

// RestoreDirect undoes CutDirect.
func (b *Bed) RestoreDirect() error {
	if !b.opts.DirectLink {
		return ErrNoDirectLink
	}
	for _, n := range []string{"A", "B"} {
		// Replacing with the veth default (noqueue) works whether or not a
		// cut is in place, unlike "del".
		if _, err := run("tc", "-n", b.nodes[n].ns, "qdisc", "replace", "dev", "eth1", "root", "noqueue"); err != nil {
			return fmt.Errorf("restore direct link: %w", err)
		}
	}
	return nil
}
