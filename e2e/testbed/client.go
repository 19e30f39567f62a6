package testbed

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// ARP reads the client's neighbour entry for addr (normally the VIP) from
// `ip -n C neigh show`: the MAC ("" while unresolved) and the state
// (REACHABLE, STALE, DELAY, PROBE, INCOMPLETE, FAILED, PERMANENT, …).
// ErrNoNeigh when the client has no entry.
func (b *Bed) ARP(addr netip.Addr) (mac, state string, err error) {
	out, err := run("ip", "-n", b.nodes["C"].ns, "neigh", "show", "to", addr.String(), "dev", "eth0")
	if err != nil {
		return "", "", fmt.Errorf("read client arp: %w", err)
	}
	mac, state, ok := parseNeigh(out, addr)
	if !ok {
		return "", "", fmt.Errorf("read client arp for %s: %w", addr, ErrNoNeigh)
	}
	return mac, state, nil
}

// parseNeigh finds addr in `ip neigh show … dev X` output, whose lines look
// like "10.213.5.100 lladdr 02:68:00:05:00:01 REACHABLE" or
// "10.213.5.100 INCOMPLETE". The state is the last word.
func parseNeigh(out string, addr netip.Addr) (mac, state string, ok bool) {
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if a, err := netip.ParseAddr(f[0]); err != nil || a != addr {
			continue
		}
		for i := 1; i+1 < len(f); i++ {
			if f[i] == "lladdr" {
				mac = strings.ToLower(f[i+1])
			}
		}
		return mac, f[len(f)-1], true
	}
	return "", "", false
}

// FlushARP empties node's neighbour table, so that its next packet to a
// moved VIP asks again: the stand-in for a gratuitous ARP in tests that move
// a VIP by hand.
func (b *Bed) FlushARP(node string) error {
	ns, err := b.nsOf(node)
	if err != nil {
		return err
	}
	if _, err := run("ip", "-n", ns, "neigh", "flush", "dev", "eth0"); err != nil {
		return fmt.Errorf("flush arp of %s: %w", node, err)
	}
	return nil
}

// httpTimeout bounds one HTTPGet.
const httpTimeout = 5 * time.Second

// HTTPGet fetches url from the client namespace (the socket is made in C; no
// curl needed) and returns the body. A status other than 200 is an error.
func (b *Bed) HTTPGet(url string) (string, error) {
	tr := &http.Transport{
		DisableKeepAlives: true, // each call is a fresh connection, like a new client
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := b.InNS("C", func() error {
				var err error
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: httpTimeout}
	resp, err := client.Get(url)
	if err != nil {
		return "", fmt.Errorf("get %s from client: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read %s from client: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("get %s from client: status %s", url, resp.Status)
	}
	return string(body), nil
}
