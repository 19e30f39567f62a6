package tables

import (
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Tee entries: the "tee process" of seed 003, a UDP relay bound to the
// virtual IP that forwards every datagram it receives, payload unchanged,
// to each destination, typically the application's receivers on both
// nodes, so that both see every request whichever node holds the address.
//
//	tee listen=10.213.0.100:5000 to=10.213.0.1:5001,10.213.0.2:5001 [run_dir=/run/had] [bin=PATH] [name=…] [timeout=10s]
//
// It runs as its own small process, had-tee (tables/cmd/had-tee, RunTee),
// so that a slow or crashed relay never holds up had2 and a had2 restart
// does not stop the relay. Start spawns it detached (a session of its own,
// no parent-death signal, stdin /dev/null, stdout and stderr appended to
// RUN_DIR/had-tee-NAME.log) and returns once it is bound: it writes
// RUN_DIR/had-tee-NAME.pid and says so on a pipe only then. Start of a
// running tee (the pid file names a live had-tee with this pid file) does
// nothing; one running with other addresses is stopped and started again.
// Stop sends SIGTERM to the pid in the pid file, after checking that it is
// this had-tee (/proc/PID/cmdline), SIGKILL after 2 s, and waits for it to
// exit.
//
// bin= defaults to had-tee in the directory of the running executable:
// had2 and had-tee are installed side by side. run_dir= defaults to /run/had.
//
// had-tee binds with IP_FREEBIND (IPV6_FREEBIND), so it can start before
// its address exists, and keeps its socket when the address is deleted and
// added again; still, put the entry after the vip of its listen address:
// then it starts once the address is there and stops before it goes, and
// Parse checks that order. Replies to forwarded datagrams go to had-tee's
// own ports and are dropped; the relay is one-way, as in the seed.

type teeEntry struct {
	base
	listen netip.AddrPort
	to     []netip.AddrPort
	runDir string
	bin    string // "" = next to the running executable
}

// DefaultRunDir holds tee pid and log files.
const DefaultRunDir = "/run/had"

// maxTeeDest bounds to=: a relay fans out to a few receivers, not a
// multicast group's worth.
const maxTeeDest = 16

func parseTee(r *rawEntry) Entry {
	t := &teeEntry{runDir: DefaultRunDir}
	if len(r.args) > 0 {
		r.errorf("syntax", "tee takes only options, got arguments %q (listen=ADDR:PORT to=ADDR:PORT,…)", r.args)
	}
	defName := "tee"
	if v := r.str("listen", true); v != "" {
		if ap, ok := parseTeeAddr(r, "listen", v, true); ok {
			t.listen = ap
			defName = "tee:" + ap.Addr().String() + ":" + strconv.Itoa(int(ap.Port()))
		}
	}
	if v := r.str("to", true); v != "" {
		seen := map[netip.AddrPort]bool{}
		for _, s := range strings.Split(v, ",") {
			ap, ok := parseTeeAddr(r, "to", s, false)
			switch {
			case !ok:
			case seen[ap]:
				r.errorf("to", "%s given twice", ap)
			case ap == t.listen:
				r.errorf("to", "%s is the listen address: the relay would feed itself", ap)
			default:
				seen[ap] = true
				t.to = append(t.to, ap)
			}
		}
		if len(t.to) > maxTeeDest {
			r.errorf("to", "%d destinations, at most %d", len(t.to), maxTeeDest)
		}
	}
	if v, ok := r.take("run_dir"); ok {
		if !path.IsAbs(v) || path.Clean(v) != v {
			r.errorf("run_dir", "%q is not a clean absolute path", v)
		}
		t.runDir = v
	}
	if v, ok := r.take("bin"); ok {
		if !path.IsAbs(v) || path.Clean(v) != v {
			r.errorf("bin", "%q is not a clean absolute path", v)
		}
		t.bin = v
	}
	t.base = r.base(defName)
	t.named = t.named && t.name != defName
	return t
}

// parseTeeAddr reads one ADDR:PORT ([ADDR]:PORT for IPv6). The listen
// address may be unspecified (0.0.0.0, [::]); a destination may not.
func parseTeeAddr(r *rawEntry, key, s string, listen bool) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		r.errorf(key, "%q is not ADDRESS:PORT, e.g. 10.213.0.100:5000 or [2001:db8::100]:5000", s)
		return netip.AddrPort{}, false
	}
	a := ap.Addr()
	switch {
	case ap.Port() == 0:
		r.errorf(key, "%s: port 0", s)
	case a.Zone() != "":
		r.errorf(key, "%s: a zone is not allowed", s)
	case a.Is4In6():
		r.errorf(key, "%s: write the IPv4 address as %s", s, a.Unmap())
	case !listen && a.IsUnspecified():
		r.errorf(key, "%s: not a destination", s)
	case listen && a.IsMulticast():
		r.errorf(key, "%s: a multicast listen address is not supported", s)
	default:
		return ap, true
	}
	return netip.AddrPort{}, false
}

func (t *teeEntry) Kind() Kind { return KindTee }

func (t *teeEntry) String() string {
	w := []string{string(KindTee), "listen=" + quote(t.listen.String()), "to=" + quote(t.toList())}
	if t.runDir != DefaultRunDir {
		w = append(w, "run_dir="+quote(t.runDir))
	}
	if t.bin != "" {
		w = append(w, "bin="+quote(t.bin))
	}
	return strings.Join(append(w, t.words()...), " ")
}

func (t *teeEntry) toList() string {
	s := make([]string, len(t.to))
	for i, ap := range t.to {
		s[i] = ap.String()
	}
	return strings.Join(s, ",")
}

// pidFile and logFile are the entry's files in its run directory.
func (t *teeEntry) pidFile() string { return filepath.Join(t.runDir, "had-tee-"+t.name+".pid") }
func (t *teeEntry) logFile() string { return filepath.Join(t.runDir, "had-tee-"+t.name+".log") }

// args are had-tee's arguments after argv[0]; it gets its ready pipe as
// fd 3.
func (t *teeEntry) args() []string {
	return []string{"--listen", t.listen.String(), "--to", t.toList(), "--pidfile", t.pidFile(), "--ready-fd", "3"}
}

// checkTeeOrder reports a tee that comes before the vip of its listen
// address: it would start before the address exists and outlive it at
// stop.
func checkTeeOrder(file string, es []Entry, errs *Errors) {
	vips := map[netip.Addr]int{}
	for _, e := range es {
		if v, ok := e.(vipHolder); ok {
			vips[v.VIP().Prefix.Addr()] = e.Line()
		}
	}
	for _, e := range es {
		t, ok := e.(*teeEntry)
		if !ok {
			continue
		}
		if line, ok := vips[t.listen.Addr()]; ok && line > t.line {
			*errs = append(*errs, Error{File: file, Line: t.line, Field: "listen",
				Msg: fmt.Sprintf("%s is the virtual IP of line %d: put the tee after it, so that it starts after the address and stops before it", t.listen.Addr(), line)})
		}
	}
}
