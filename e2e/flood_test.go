package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// TestFlood's phases and rates. The flood is paced: on this test bed the
// attacker's sends, the bridge and the kernel's reassembly of 64 KiB
// datagrams all run on the two cores the cluster has, and an unpaced flood
// on top of another load (stress-ng) stalled the whole machine, echod and
// B's sender included, which proves nothing about had. 25000 datagrams a
// second from each of two sources (100-200 MB/s with the 64 KiB ones) is
// still 2500 times B's own rate.
const (
	floodPhase      = 4 * time.Second
	floodUDPRate    = 25000   // datagrams a second, from each source
	floodSerialRate = 2 << 20 // bytes a second (a real 115200 baud line carries 11.5 kB/s)
)

// TestFlood floods node A's receiver with everything it must refuse —
// frames signed with the wrong key, of another cluster, of the peer's
// previous boot, genuine frames captured off the wire and replayed
// byte for byte (at first within the 64-frame window, later far behind
// it), the same with one bit flipped, frames cut short, frames padded to
// 64 KiB datagrams, and random bytes — over UDP from B's namespace (the
// peer's own address, so it all reaches the decoder) and from the client's
// (a foreign address), then over the serial line, then over both at once.
// Nothing may be accepted, A's receiver may not crash or restart, the real
// peer must stay heard on at least one path (no OVERTIME, no takeover by B)
// and the client must keep being served by A; every drop counter grows.
func TestFlood(t *testing.T) {
	c, p := up(t, cluster.Options{})
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	before, err := c.Status("A")
	if err != nil {
		t.Fatal(err)
	}
	recv := cluster.Daemon(before, "receiver")
	ta, tb := openTable(t, c, "A"), openTable(t, c, "B")
	peerBefore := slots.ParsePeer(mustSlot(t, ta, shm.SlotPeer))
	lanBefore, serialBefore := slots.ParsePath(mustSlot(t, ta, shm.SlotPath0)), slots.ParsePath(mustSlot(t, ta, shm.SlotPath0+1))
	kernelBefore := udpSocketDrops(t, int(recv.PID), 6940)

	captured := captureFrames(t, c, 5)
	pool := newFloodPool(rng, captured)
	t.Logf("captured %d of B's frames off A's wire (epoch %d, seq %d..%d)", len(captured),
		binary.BigEndian.Uint64(captured[0][13:]), binary.BigEndian.Uint64(captured[0][21:]),
		binary.BigEndian.Uint64(captured[len(captured)-1][21:]))

	dst := netip.AddrPortFrom(c.Bed.Addr("A"), 6940)
	fromB := dialIn(t, c, "B", netip.AddrPortFrom(c.Bed.Addr("B"), 0), dst)
	fromC := dialIn(t, c, "C", netip.AddrPort{}, dst)
	tty, err := os.OpenFile(c.Bed.TTY("B"), os.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()

	mon := watchPair(ta, tb)
	cpu0, _ := cpuTime(int(recv.PID))
	var sentUDP uint64
	start := time.Now()
	for _, ph := range []struct {
		name        string
		udp, serial bool
		cut         bool // the serial line cut: the LAN alone keeps the pair
	}{{"udp", true, false, false}, {"serial", false, true, false}, {"udp+serial", true, true, false}, {"udp, serial line cut", true, false, true}} {
		if ph.cut {
			if err := c.Bed.CutSerial(); err != nil {
				t.Fatal(err)
			}
		}
		lost0 := [2]uint64{slots.ParsePath(mustSlot(t, ta, shm.SlotPath0)).Lost, slots.ParsePath(mustSlot(t, ta, shm.SlotPath0+1)).Lost}
		seq0 := slots.ParsePeer(mustSlot(t, ta, shm.SlotPeer)).Last.Seq
		ctx, cancel := context.WithTimeout(context.Background(), floodPhase)
		var wg sync.WaitGroup
		var b, cl, s floodCount
		if ph.udp {
			wg.Add(2)
			go func() { defer wg.Done(); b = floodUDP(ctx, fromB, pool.datagrams, floodUDPRate) }()
			go func() { defer wg.Done(); cl = floodUDP(ctx, fromC, pool.datagrams, floodUDPRate) }()
		}
		if ph.serial {
			wg.Add(1)
			go func() { defer wg.Done(); s = floodSerial(ctx, tty, pool.serial, floodSerialRate) }()
		}
		wg.Wait()
		cancel()
		sentUDP += b.n + cl.n
		sent := slots.ParsePeer(mustSlot(t, ta, shm.SlotPeer)).Last.Seq - seq0
		lost := [2]uint64{slots.ParsePath(mustSlot(t, ta, shm.SlotPath0)).Lost - lost0[0],
			slots.ParsePath(mustSlot(t, ta, shm.SlotPath0+1)).Lost - lost0[1]}
		t.Logf("%s phase: from B %s; from C %s; serial %s; of B's %d heartbeats the lan lost %d, rs232 %d",
			ph.name, b.rate(), cl.rate(), s.rate(), sent, lost[0], lost[1])
		if ph.cut {
			if err := c.Bed.RestoreSerial(); err != nil {
				t.Fatal(err)
			}
		}
		for _, err := range []error{b.err, cl.err, s.err} {
			if err != nil {
				t.Errorf("%s phase: flood: %v", ph.name, err)
			}
		}
	}
	floodEnd := time.Now()
	if cpu1, ok := cpuTime(int(recv.PID)); ok {
		cpu := cpu1 - cpu0
		t.Logf("A's receiver used %.0f%% of a core over the %v of flooding (%.1f µs a datagram)",
			100*cpu.Seconds()/floodEnd.Sub(start).Seconds(), floodEnd.Sub(start).Round(time.Second), cpu.Seconds()*1e6/float64(max(sentUDP, 1)))
	}
	w := mon.stop()
	t.Logf("during the flood: longest the peer went unheard %v; lan up %.0f%% of the time, rs232 %.0f%%; both down %d times",
		w.maxUnheard.Round(time.Millisecond), w.upShare(0), w.upShare(1), w.bothDown)

	// The receiver saves its counters at its liveness bump (250 ms).
	after, err := c.WaitStatus("A", 5*time.Second, "every drop counter to grow", func(s console.Status) bool {
		d, b := s.Drops, before.Drops
		return d.MAC > b.MAC && d.Cluster > b.Cluster && d.Replay > b.Replay && d.Short > b.Short &&
			d.Invalid > b.Invalid && d.Serial > b.Serial
	})
	if err != nil {
		t.Fatal(err)
	}
	d, b0 := after.Drops, before.Drops
	lan, serial := slots.ParsePath(mustSlot(t, ta, shm.SlotPath0)), slots.ParsePath(mustSlot(t, ta, shm.SlotPath0+1))
	// A path's count holds the frames it dropped and, for UDP, the
	// datagrams from foreign addresses, dropped before any decoding.
	decoded := (d.MAC - b0.MAC) + (d.Cluster - b0.Cluster) + (d.Replay - b0.Replay) + (d.Short - b0.Short) + (d.Invalid - b0.Invalid)
	foreign := int64(lan.Dropped-lanBefore.Dropped) - int64(decoded-(serial.Dropped-serialBefore.Dropped))
	kernel := udpSocketDrops(t, int(recv.PID), 6940) - kernelBefore
	t.Logf("drops at A: bad MAC +%d, other cluster +%d, replay +%d, truncated/oversized +%d, invalid +%d (of them on the serial line %d), "+
		"serial garbage bytes +%d; from a foreign address +%d; by the kernel (socket buffer full) +%d; of %d datagrams sent",
		d.MAC-b0.MAC, d.Cluster-b0.Cluster, d.Replay-b0.Replay, d.Short-b0.Short, d.Invalid-b0.Invalid, serial.Dropped-serialBefore.Dropped,
		d.Serial-b0.Serial, foreign, kernel, sentUDP)
	if foreign <= 0 {
		t.Errorf("no datagram from the client's address was counted as foreign (%d)", foreign)
	}
	// The peer's heartbeats share the fate of the flood's datagrams in the
	// socket's queue: with the default 208 KiB buffer a few 64 KiB
	// datagrams filled it and about half of everything, heartbeats
	// included, was dropped (the LAN then lost 20-50% of them).
	if kernel*20 > sentUDP {
		t.Errorf("the kernel dropped %d of %d datagrams at A's receiver: more than 5%%, real heartbeats go with them", kernel, sentUDP)
	}

	// Nothing forged got in: no control message (every forgery is a
	// TAKEOVER), and the newest frame accepted is B's own.
	peer := slots.ParsePeer(mustSlot(t, ta, shm.SlotPeer))
	bSeq := slots.ParseDaemon(mustSlot(t, tb, shm.SlotSender)).Extra[slots.ExtraSeq]
	t.Logf("A accepted %d of B's frames meanwhile (last seq %d; B's sender at seq %d)",
		peer.Accepted-peerBefore.Accepted, peer.Last.Seq, bSeq)
	if peer.Messages != peerBefore.Messages {
		t.Errorf("A took %d control messages during the flood, want none", peer.Messages-peerBefore.Messages)
	}
	if peer.Last.Epoch != peerBefore.Last.Epoch || peer.Last.Seq > bSeq+10 || peer.Last.Seq < peerBefore.Last.Seq {
		t.Errorf("A's last accepted frame is epoch %d seq %d; B is at epoch %d seq ~%d", peer.Last.Epoch, peer.Last.Seq,
			peerBefore.Last.Epoch, bSeq)
	}
	if peer.Accepted == peerBefore.Accepted {
		t.Error("A accepted none of B's real frames during the flood")
	}
	// No crash, no restart, no failover; the peer was never lost.
	if got := cluster.Daemon(after, "receiver"); got.PID != recv.PID || got.Restarts != recv.Restarts {
		t.Errorf("A's receiver: pid %d restarts %d, was pid %d restarts %d", got.PID, got.Restarts, recv.PID, recv.Restarts)
	}
	if w.maxUnheard >= 350*time.Millisecond { // the default dead time
		t.Errorf("during the flood the peer went unheard for %v: a dead time's worth", w.maxUnheard)
	}
	if w.aMoved != "" {
		t.Errorf("during the flood A was %s", w.aMoved)
	}
	if w.overtime || w.bHeld != 0 {
		t.Errorf("during the flood: OVERTIME at A %v, B held %v: the flood cost a real heartbeat's worth", w.overtime, w.bHeld)
	}
	if after.Pair != "(N,N)" || after.Node.Held != "g1" {
		t.Errorf("after the flood A reports pair %s holding %s, want (N,N) holding g1", after.Pair, after.Node.Held)
	}
	if logHas(t, c, "B", `"to":"T"`) || logHas(t, c, "A", "OVERTIME") {
		t.Error("a takeover or an OVERTIME was logged during the flood")
	}
	noRepliesFrom(t, p, "B", start)
	gap, _ := maxGap(p, "A", start, floodEnd)
	t.Logf("client: longest gap between A's answers during the flood %v", gap.Round(time.Millisecond))
	if gap > time.Second {
		t.Errorf("the client went %v without an answer from A", gap)
	}
}

// floodCount is what one flooder sent.
type floodCount struct {
	n, bytes uint64
	took     time.Duration
	err      error
}

func (f floodCount) rate() string {
	if f.n == 0 {
		return "nothing"
	}
	s := f.took.Seconds()
	return fmt.Sprintf("%d in %.1fs (%.0f/s, %.1f MB/s)", f.n, s, float64(f.n)/s, float64(f.bytes)/s/1e6)
}

// lowPriority moves the calling goroutine to an OS thread of its own at
// nice 19 for good: the attacker's own work (the sends, and on this bed
// the bridge's and the kernel's delivery that runs in the sender's
// context) then yields to the cluster's processes, as it would on a
// machine of its own, while the receiver still gets everything. The thread
// is thrown away when the goroutine returns, since it is never unlocked;
// nothing in the bed uses Pdeathsig, so no child dies with it.
func lowPriority() {
	runtime.LockOSThread()
	unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19) // best effort: the rate is logged either way
}

// pace sleeps while done units are ahead of rate units a second since
// began: the flooders send in bursts between naps of a millisecond or two.
func pace(began time.Time, done uint64, rate float64) {
	if ahead := time.Duration(float64(done)/rate*float64(time.Second)) - time.Since(began); ahead > time.Millisecond {
		time.Sleep(ahead) // pacing a load, not waiting for a condition
	}
}

// floodUDP sends the pool's datagrams round and round, at rate a second,
// until ctx ends.
func floodUDP(ctx context.Context, conn *net.UDPConn, pool [][]byte, rate float64) floodCount {
	lowPriority()
	var f floodCount
	began := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		pace(began, f.n, rate)
		d := pool[i%len(pool)]
		if _, err := conn.Write(d); err != nil {
			// A full socket buffer or an ICMP error from a previous
			// datagram: the next write goes on.
			if !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.ECONNREFUSED) && !errors.Is(err, unix.EAGAIN) {
				f.err = err
				break
			}
			continue
		}
		f.n++
		f.bytes += uint64(len(d))
	}
	f.took = time.Since(began)
	return f
}

// floodSerial writes the pool's serial units into B's end of the line,
// rate bytes a second, until ctx ends; writes block while the line is full.
func floodSerial(ctx context.Context, tty *os.File, pool [][]byte, rate float64) floodCount {
	lowPriority()
	var f floodCount
	began := time.Now()
	deadline, _ := ctx.Deadline()
	tty.SetWriteDeadline(deadline)
	var buf []byte
	for i := 0; ctx.Err() == nil; i++ {
		pace(began, f.bytes, rate)
		// Whole units per write: the tty writes each call in one piece,
		// so B's sender's frames go between them, not into them.
		buf = buf[:0]
		for j := 0; len(buf) < 2048; j++ {
			buf = append(buf, pool[(i*16+j)%len(pool)]...)
		}
		n, err := tty.Write(buf)
		f.bytes += uint64(n)
		f.n++
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				f.err = err
			}
			break
		}
	}
	f.took = time.Since(began)
	return f
}

// floodPool is the flood's material, made once from a seeded generator.
type floodPool struct {
	datagrams [][]byte // UDP payloads
	serial    [][]byte // serial line units: framed payloads and noise
}

// The keys of the e2e cluster (cluster.New) and of a stranger.
var (
	clusterKey = &wire.Keyring{Active: 1, Keys: map[uint8][]byte{1: []byte("e2e-test-secret-0123456789abcdef")}}
	otherKey   = &wire.Keyring{Active: 1, Keys: map[uint8][]byte{1: []byte("not-the-cluster-key-at-all-00000")}}
)

func newFloodPool(rng *rand.Rand, captured [][]byte) floodPool {
	epoch := binary.BigEndian.Uint64(captured[0][13:])
	sign := func(kr *wire.Keyring, clusterID uint32, epoch, seq uint64) []byte {
		b, err := wire.Append(nil, &wire.Frame{Kind: wire.Takeover, State: wire.StateNormal, Cluster: clusterID, Node: 2,
			Epoch: epoch, Seq: seq, Time: time.Now().UnixNano(), ReqID: uint32(seq)}, kr)
		if err != nil {
			panic(err)
		}
		return b
	}
	big := make([]byte, 65507) // the largest UDP payload over IPv4
	rng.Read(big)
	var p floodPool
	for i := 0; i < 4096; i++ {
		real := captured[rng.Intn(len(captured))]
		var d []byte
		switch i % 9 {
		case 0: // the wrong key, a sequence number far ahead
			d = sign(otherKey, 42, epoch, 1e9+uint64(i))
		case 1: // another cluster
			d = sign(clusterKey, 99, epoch, 1e9+uint64(i))
		case 2: // B's previous boot
			d = sign(clusterKey, 42, epoch-1, 1e9+uint64(i))
		case 3: // a genuine frame, replayed as it was captured
			d = real
		case 4: // a genuine frame with one bit flipped
			d = bytes.Clone(real)
			d[rng.Intn(len(d))] ^= 1 << rng.Intn(8)
		case 5: // cut short
			d = real[:rng.Intn(len(real))]
		case 6: // a genuine frame padded to up to 64 KiB
			d = append(bytes.Clone(real), big[:rng.Intn(len(big)-len(real))]...)
		case 7: // random bytes that start like a frame
			d = append([]byte{'H', 'D', wire.Version}, big[:rng.Intn(200)]...)
		default: // random bytes
			d = big[rng.Intn(1000):][:rng.Intn(200)]
		}
		p.datagrams = append(p.datagrams, d)
		if len(d) > 0 && len(d) <= wire.MaxSerialPayload {
			p.serial = append(p.serial, wire.AppendSerial(nil, d))
		}
		switch i % 4 {
		case 0: // noise, sync bytes included
			p.serial = append(p.serial, append([]byte{wire.SerialSync, wire.SerialSync}, big[:rng.Intn(100)]...))
		case 1: // a frame with a bad CRC
			f := wire.AppendSerial(nil, real)
			f[len(f)-1] ^= 0xFF
			p.serial = append(p.serial, f)
		case 2: // a length no frame has
			p.serial = append(p.serial, []byte{wire.SerialSync, wire.SerialSync, byte(wire.MaxSerialPayload + 1 + rng.Intn(100))})
		}
	}
	return p
}

// captureFrames returns n of B's UDP frames to A, byte for byte, read
// with a packet socket on A's eth0 (the receiver owns the port).
func captureFrames(t *testing.T, c *cluster.Cluster, n int) [][]byte {
	t.Helper()
	var fd int
	err := c.Bed.InNS("A", func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_IP))
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return fmt.Errorf("open packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	src := c.Bed.Addr("B").As4()
	var frames [][]byte
	buf := make([]byte, 2048)
	deadline := time.Now().Add(10 * time.Second)
	for len(frames) < n {
		if time.Now().After(deadline) {
			t.Fatalf("captured %d of B's frames in 10s, want %d", len(frames), n)
		}
		m, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue // the timeout: look at the deadline
		}
		if d, ok := udpPayload(buf[:m], src, 6940); ok && len(d) == wire.Size {
			frames = append(frames, bytes.Clone(d))
		}
	}
	return frames
}

// udpPayload returns the payload of an IPv4 packet if it is UDP from src
// to port.
func udpPayload(pkt []byte, src [4]byte, port uint16) ([]byte, bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[9] != unix.IPPROTO_UDP || [4]byte(pkt[12:16]) != src {
		return nil, false
	}
	ihl := int(pkt[0]&0xF) * 4
	if len(pkt) < ihl+8 || binary.BigEndian.Uint16(pkt[ihl+2:]) != port {
		return nil, false
	}
	return pkt[ihl+8:], true
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// dialIn opens a UDP socket in node's namespace, bound to local (any
// address when invalid), connected to dst.
func dialIn(t *testing.T, c *cluster.Cluster, node string, local, dst netip.AddrPort) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	err := c.Bed.InNS(node, func() error {
		var laddr *net.UDPAddr
		if local.IsValid() {
			laddr = net.UDPAddrFromAddrPort(local)
		}
		var err error
		conn, err = net.DialUDP("udp4", laddr, net.UDPAddrFromAddrPort(dst))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func openTable(t *testing.T, c *cluster.Cluster, node string) *shm.Table {
	t.Helper()
	tbl, err := shm.Open(c.ShmPath(node))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	return tbl
}

func mustSlot(t *testing.T, tbl *shm.Table, slot int) shm.Record {
	t.Helper()
	r, err := tbl.Read(slot)
	if err != nil && !errors.Is(err, shm.ErrStale) {
		t.Fatalf("read slot %d: %v", slot, err)
	}
	return r
}

// udpSocketDrops is the kernel's count of datagrams dropped at the UDP
// socket bound to port in pid's network namespace (the last column of
// /proc/PID/net/udp): a full receive buffer, mostly.
func udpSocketDrops(t *testing.T, pid int, port uint16) uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/udp", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 13 || !strings.HasSuffix(fields[1], want) {
			continue
		}
		n, err := strconv.ParseUint(fields[len(fields)-1], 10, 64)
		if err != nil {
			t.Fatalf("parse /proc/%d/net/udp: %q: %v", pid, sc.Text(), err)
		}
		return n
	}
	t.Fatalf("no UDP socket on port %d in /proc/%d/net/udp", port, pid)
	return 0
}

// cpuTime is the CPU time pid has used (user and system); false when
// pid is gone.
func cpuTime(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := bytes.LastIndexByte(b, ')')
	if err != nil || i < 0 {
		return 0, false
	}
	// After the command (which may hold spaces and parentheses) come the
	// state, field 3, and so on; utime and stime are fields 14 and 15, in
	// clock ticks.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / 100, true // USER_HZ is 100 on Linux
}

// pairWatch is what watchPair saw.
type pairWatch struct {
	polls      int
	up         [2]int // polls with path i up at A
	bothDown   int    // polls with both down
	maxUnheard time.Duration
	overtime   bool        // A's receiver declared OVERTIME
	bHeld      wire.Groups // groups B published as held
	aMoved     string      // A published something but N holding g1 (the first such)
}

func (w pairWatch) upShare(i int) float64 { return 100 * float64(w.up[i]) / float64(max(w.polls, 1)) }

type pairWatcher struct {
	stopc chan struct{}
	done  chan pairWatch
}

// watchPair polls both tables every 10 ms until stop.
func watchPair(ta, tb *shm.Table) *pairWatcher {
	pw := &pairWatcher{stopc: make(chan struct{}), done: make(chan pairWatch, 1)}
	go func() {
		var w pairWatch
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pw.stopc:
				pw.done <- w
				return
			case <-tick.C:
			}
			w.polls++
			r, _ := ta.Read(shm.SlotPeer)
			peer := slots.ParsePeer(r)
			w.overtime = w.overtime || peer.Overtime
			w.maxUnheard = max(w.maxUnheard, time.Duration(shm.Now()-peer.Last.Heard))
			down := 0
			for i := range 2 {
				r, _ := ta.Read(shm.SlotPath0 + i)
				if slots.ParsePath(r).Up {
					w.up[i]++
				} else {
					down++
				}
			}
			if down == 2 {
				w.bothDown++
			}
			r, _ = tb.Read(shm.SlotSend)
			w.bHeld |= slots.ParseSend(r).Held
			r, _ = ta.Read(shm.SlotSend)
			if a := slots.ParseSend(r); w.aMoved == "" && (a.State != wire.StateNormal || a.Held != wire.GroupOf(1)) {
				w.aMoved = fmt.Sprintf("%v holding %v", a.State, a.Held)
			}
		}
	}()
	return pw
}

func (pw *pairWatcher) stop() pairWatch {
	close(pw.stopc)
	return <-pw.done
}
