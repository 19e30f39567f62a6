package tables

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// TeeConfig is what had-tee runs with (RunTee).
type TeeConfig struct {
	Listen netip.AddrPort   // where datagrams come in: the VIP and port
	To     []netip.AddrPort // where each goes out again
	// PidFile, when set, gets the process's pid once the socket is bound
	// (atomically: a reader never sees a partial file), and is removed on
	// the way out.
	PidFile string
	// Ready, when set, gets "READY\n" once bound, and is closed: how the
	// tee entry's Start knows the relay is up.
	Ready io.WriteCloser
	// LogEvery is how often, at most, a destination's trouble (drops,
	// refusals) is logged; default 10s. The first is logged at once.
	LogEvery time.Duration
}

// ParseTeeConfig reads had-tee's --listen and --to (comma-separated).
func ParseTeeConfig(listen, to string) (TeeConfig, error) {
	var c TeeConfig
	var err error
	if c.Listen, err = netip.ParseAddrPort(listen); err != nil || c.Listen.Port() == 0 {
		return c, fmt.Errorf("listen address %q: want ADDRESS:PORT", listen)
	}
	for _, s := range strings.Split(to, ",") {
		ap, err := netip.ParseAddrPort(strings.TrimSpace(s))
		if err != nil || ap.Port() == 0 || ap.Addr().IsUnspecified() {
			return c, fmt.Errorf("destination %q: want ADDRESS:PORT", s)
		}
		c.To = append(c.To, ap)
	}
	return c, nil
}

// TeeStats counts what a relay did; per destination in To's order.
type TeeStats struct {
	Received  uint64
	Forwarded []uint64
	Dropped   []uint64 // could not be sent
	Refused   []uint64 // the destination's port was closed last time (ICMP); retried once
}

// maxDatagram holds any UDP payload (65507 bytes over IPv4, 65527 over IPv6).
const maxDatagram = 65536

// RunTee binds cfg.Listen and forwards every datagram it receives, payload
// unchanged, to each of cfg.To, until ctx ends. It returns nil then, or the
// error that kept it from starting.
//
// The listen socket is bound with IP_FREEBIND (IPV6_FREEBIND), so that the
// relay can start before its address exists and keeps its socket while the
// address is deleted and added again. Each destination has a connected
// socket of its own (an ephemeral port chosen by the kernel), so that the
// kernel reports, on the next send, an ICMP "port unreachable" from a
// receiver that is not listening: that send is counted as refused and tried
// once more, since the error was about the previous datagram. Replies that
// receivers send back are not read: the relay is one-way.
func RunTee(ctx context.Context, cfg TeeConfig, log zerolog.Logger) (TeeStats, error) {
	st := TeeStats{
		Forwarded: make([]uint64, len(cfg.To)),
		Dropped:   make([]uint64, len(cfg.To)),
		Refused:   make([]uint64, len(cfg.To)),
	}
	if len(cfg.To) == 0 {
		return st, errors.New("tee: no destination")
	}
	network := "udp4"
	if cfg.Listen.Addr().Is6() && !cfg.Listen.Addr().Is4In6() {
		network = "udp6"
	}
	lc := net.ListenConfig{Control: freebind}
	pc, err := lc.ListenPacket(ctx, network, cfg.Listen.String())
	if err != nil {
		return st, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	in := pc.(*net.UDPConn)
	defer in.Close()
	outs := make([]*net.UDPConn, len(cfg.To))
	for i, to := range cfg.To {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
		if err != nil {
			return st, fmt.Errorf("open socket to %s: %w", to, err)
		}
		defer c.Close()
		outs[i] = c
	}
	if cfg.PidFile != "" {
		if err := writePidFile(cfg.PidFile); err != nil {
			return st, err
		}
		defer removeOwnPidFile(cfg.PidFile)
	}
	log.Info().Str("listen", cfg.Listen.String()).Str("to", addrList(cfg.To)).Msg("tee bound")
	if cfg.Ready != nil {
		_, err := io.WriteString(cfg.Ready, teeReady+"\n")
		cfg.Ready.Close()
		if err != nil {
			return st, fmt.Errorf("say ready: %w", err)
		}
	}
	stop := context.AfterFunc(ctx, func() { in.Close() })
	defer stop()

	every := cfg.LogEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	lastLog := make([]time.Time, len(cfg.To))
	buf := make([]byte, maxDatagram)
	for {
		n, _, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			log.Warn().Err(err).Msg("tee receive failed")
			continue
		}
		st.Received++
		for i, out := range outs {
			_, err := out.Write(buf[:n])
			refused := errors.Is(err, syscall.ECONNREFUSED)
			if refused {
				st.Refused[i]++
				_, err = out.Write(buf[:n])
			}
			if err == nil {
				st.Forwarded[i]++
			} else {
				st.Dropped[i]++
			}
			if !refused && err == nil {
				continue
			}
			// Trouble with this destination: say so at once, then at most
			// every LogEvery.
			if now := time.Now(); now.Sub(lastLog[i]) >= every {
				ev := log.Warn().Str("to", cfg.To[i].String()).Uint64("dropped", st.Dropped[i]).Uint64("refused", st.Refused[i])
				if err != nil {
					ev.Err(err).Msg("tee dropped datagrams")
				} else {
					ev.Msg("tee destination refuses datagrams (port closed)")
				}
				lastLog[i] = now
			}
		}
	}
	ev := log.Info().Uint64("received", st.Received)
	for i, to := range cfg.To {
		ev = ev.Dict(to.String(), zerolog.Dict().Uint64("forwarded", st.Forwarded[i]).
			Uint64("dropped", st.Dropped[i]).Uint64("refused", st.Refused[i]))
	}
	ev.Msg("tee stopped")
	return st, nil
}

// freebind lets a socket bind an address the host does not have (yet).
func freebind(network, _ string, c syscall.RawConn) error {
	level, opt := unix.IPPROTO_IP, unix.IP_FREEBIND
	if strings.HasSuffix(network, "6") {
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_FREEBIND
	}
	var serr error
	if err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, 1) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("set freebind: %w", serr)
	}
	return nil
}

func addrList(aps []netip.AddrPort) string {
	s := make([]string, len(aps))
	for i, ap := range aps {
		s[i] = ap.String()
	}
	return strings.Join(s, ",")
}

// writePidFile writes this process's pid to path through a temporary file
// and a rename.
func writePidFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	_, err = tmp.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// removeOwnPidFile removes path if it still holds this process's pid (a
// newer had-tee may have replaced it).
func removeOwnPidFile(path string) {
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
		os.Remove(path)
	}
}
