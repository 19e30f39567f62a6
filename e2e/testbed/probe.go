package testbed

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// probeEvery is the prober's send period: it gives the failover benchmark
// millisecond resolution for 1000 small datagrams a second, nothing for a veth.
const probeEvery = time.Millisecond

// probeMagic starts every request so that stray datagrams are not taken for
// answers. A request is magic | seq (8 bytes, big endian); echod answers
// "NAME " followed by the request.
var probeMagic = []byte("htbp")

const probeLen = 4 + 8

// Reply is one answer the client received.
type Reply struct {
	Seq      uint64     // of the request answered
	Node     string     // the name the server put in the answer
	Src      netip.Addr // the answer's source address (the VIP, from echod)
	Sent     time.Time  // when request Seq left the client
	Received time.Time  // when the answer arrived
}

// Prober sends a request from the client namespace every millisecond and
// records every answer. Duplicate answers (two nodes answering the same
// request) are all recorded.
type Prober struct {
	conn *net.UDPConn
	dst  netip.AddrPort

	mu      sync.Mutex
	sent    []time.Time // indexed by seq
	replies []Reply     // in arrival order, so Received never decreases
	changed chan struct{}

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// Probe starts probing dst (normally VIP:7, where echod answers) from C. The
// bed stops it on Close.
func (b *Bed) Probe(dst netip.AddrPort) (*Prober, error) {
	var conn *net.UDPConn
	// Unconnected on purpose: ICMP errors while nobody holds the VIP must not
	// fail reads, and answers are taken from whichever address they come.
	err := b.InNS("C", func() error {
		var err error
		conn, err = net.ListenUDP("udp", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open prober socket in client: %w", err)
	}
	p := &Prober{conn: conn, dst: dst, changed: make(chan struct{}), stop: make(chan struct{})}
	p.wg.Add(2)
	go p.send()
	go p.receive()
	b.mu.Lock()
	b.probers = append(b.probers, p)
	b.mu.Unlock()
	return p, nil
}

func (p *Prober) send() {
	defer p.wg.Done()
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	req := make([]byte, probeLen)
	copy(req, probeMagic)
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		seq := uint64(len(p.sent))
		p.sent = append(p.sent, time.Now())
		p.mu.Unlock()
		binary.BigEndian.PutUint64(req[4:], seq)
		// Errors (no route while a link is down, …) are just lost probes.
		_, _ = p.conn.WriteToUDPAddrPort(req, p.dst)
	}
}

func (p *Prober) receive() {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		now := time.Now()
		node, seq, ok := decodeReply(buf[:n])
		if !ok {
			continue
		}
		p.mu.Lock()
		if seq < uint64(len(p.sent)) {
			p.replies = append(p.replies, Reply{Seq: seq, Node: node, Src: from.Addr().Unmap(), Sent: p.sent[seq], Received: now})
			close(p.changed)
			p.changed = make(chan struct{})
		}
		p.mu.Unlock()
	}
}

// decodeReply splits an answer "NAME " + request into the name and the
// request's sequence number.
func decodeReply(b []byte) (node string, seq uint64, ok bool) {
	i := bytes.IndexByte(b, ' ')
	if i <= 0 {
		return "", 0, false
	}
	req := b[i+1:]
	if len(req) != probeLen || !bytes.Equal(req[:4], probeMagic) {
		return "", 0, false
	}
	return string(b[:i]), binary.BigEndian.Uint64(req[4:]), true
}

// Stop stops probing; the recorded answers stay readable. Safe to call twice.
func (p *Prober) Stop() {
	p.stopOnce.Do(func() {
		close(p.stop)
		_ = p.conn.Close()
		p.wg.Wait()
	})
}

// Sent is the number of requests sent so far.
func (p *Prober) Sent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sent)
}

// SentTimes is a copy of when each request so far left the client,
// indexed by its sequence number.
func (p *Prober) SentTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.sent...)
}

// Replies is a copy of every answer so far, in arrival order.
func (p *Prober) Replies() []Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Reply(nil), p.replies...)
}

// FirstReplyFrom waits up to timeout for the first answer from node received
// after the instant after, and returns it. For the failover time:
// r.Received.Sub(tPowerOff). ErrTimeout when none came in time (or the
// prober was stopped without one).
func (p *Prober) FirstReplyFrom(node string, after time.Time, timeout time.Duration) (Reply, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	p.mu.Lock()
	// Answers before i were received at or before after.
	i := sort.Search(len(p.replies), func(i int) bool { return p.replies[i].Received.After(after) })
	p.mu.Unlock()
	for {
		p.mu.Lock()
		for ; i < len(p.replies); i++ {
			if r := p.replies[i]; r.Node == node {
				p.mu.Unlock()
				return r, nil
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-p.stop:
			return Reply{}, fmt.Errorf("first reply from %s: prober stopped: %w", node, ErrTimeout)
		case <-deadline.C:
			return Reply{}, fmt.Errorf("first reply from %s: %w after %v", node, ErrTimeout, timeout)
		}
	}
}

// Gap is a silence between two consecutive answers.
type Gap struct {
	Before Reply // last answer before the silence
	After  Reply // first answer after it
}

// Len is how long the client heard nothing.
func (g Gap) Len() time.Duration { return g.After.Received.Sub(g.Before.Received) }

// Gaps lists every silence of at least min between consecutive answers (in
// arrival order, as Replies returns them). Before.Node and After.Node tell
// who served on each side: an A→B gap after powering A off is the outage the
// client saw.
func Gaps(replies []Reply, min time.Duration) []Gap {
	var gaps []Gap
	for i := 1; i < len(replies); i++ {
		if g := (Gap{Before: replies[i-1], After: replies[i]}); g.Len() >= min {
			gaps = append(gaps, g)
		}
	}
	return gaps
}
