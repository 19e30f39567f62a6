package comm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/comm/commtest"
	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

const (
	testCluster = 0x5eed
	testEpoch   = 7
)

var testKey = bytes.Repeat([]byte("k"), 32)

func testKeyring() *wire.Keyring {
	return &wire.Keyring{Active: 1, Keys: map[uint8][]byte{1: testKey}}
}

func testCodec(t testing.TB) *wire.Codec {
	t.Helper()
	c, err := wire.NewCodec(testKeyring())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTable(t testing.TB) *shm.Table {
	t.Helper()
	tbl, err := shm.Create(filepath.Join(t.TempDir(), "had.shm"), testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	return tbl
}

func testLog(t testing.TB) zerolog.Logger {
	// Info: the per-frame Debug lines would drown a failure's story.
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// pathPair makes n commtest paths and returns node 1's ends as Paths and
// node 2's ends.
func pathPair(net *commtest.Network, n int) ([]Path, []*commtest.End) {
	var a []Path
	var b []*commtest.End
	for i := range n {
		name := []string{"udp0", "serial0", "udp1", "serial1"}[i]
		p := net.Path(name)
		a = append(a, Path{Name: name, Link: p.A})
		b = append(b, p.B)
	}
	return a, b
}

func writeSend(tbl *shm.Table, s slots.Send) {
	tbl.Write(shm.SlotSend, s.Record())
	tbl.Ring(shm.BellSender)
}

func readDaemon(t testing.TB, tbl *shm.Table, slot int) slots.Daemon {
	t.Helper()
	r, _ := tbl.Read(slot)
	return slots.ParseDaemon(r)
}

func readPeer(tbl *shm.Table) slots.Peer {
	r, _ := tbl.Read(shm.SlotPeer)
	return slots.ParsePeer(r)
}

func readPath(tbl *shm.Table, i int) slots.Path {
	r, _ := tbl.Read(shm.SlotPath0 + i)
	return slots.ParsePath(r)
}

// decodeAll decodes every frame waiting at e.
func decodeAll(t testing.TB, c *wire.Codec, e *commtest.End) []wire.Frame {
	t.Helper()
	var fs []wire.Frame
	for {
		b, ok := e.TryRecv()
		if !ok {
			return fs
		}
		f, err := c.Decode(b, testCluster)
		if err != nil {
			t.Fatalf("decode sent frame: %v", err)
		}
		fs = append(fs, f)
	}
}

// tearSlot leaves slot as a writer killed mid-write does: its sequence
// word odd.
func tearSlot(t testing.TB, tbl *shm.Table, slot int) {
	t.Helper()
	f, err := os.OpenFile(tbl.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, shm.FileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	w := (*uint64)(unsafe.Pointer(&mem[shm.HeaderSize+slot*shm.SlotSize]))
	atomic.StoreUint64(w, atomic.LoadUint64(w)|1)
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
