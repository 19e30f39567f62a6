package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// nodeCounters is what one node's receiver and sender counted, read from
// its table.
type nodeCounters struct {
	late     uint64        // late heartbeats, every path
	maxGap   time.Duration // the largest gap between two frames on any path while it was up
	recvLag  stallCount    // the receiver's own scheduling stalls
	sendLag  stallCount    // the sender's
	restarts uint64        // had1's restarts of had2, sender, receiver
	paths    []pathCounters
}

// pathCounters are one path's figures from its slot.
type pathCounters struct {
	name        string
	late, downs uint64
	maxGap      time.Duration // while up: a gap that took the path down is not in it
}

// stallCount is a daemon's self-detected scheduling lag.
type stallCount struct {
	n   uint64
	max time.Duration
}

// readCounters reads node's counters from its table.
func readCounters(t *shm.Table) nodeCounters {
	var c nodeCounters
	read := func(slot int) (shm.Record, bool) {
		r, err := t.Read(slot)
		return r, err == nil || errors.Is(err, shm.ErrStale)
	}
	for i := 0; i < shm.MaxPaths; i++ {
		r, ok := read(shm.SlotPath0 + i)
		if !ok || r.Type != shm.TypePath {
			continue
		}
		p := slots.ParsePath(r)
		c.late += p.Late
		c.maxGap = max(c.maxGap, time.Duration(p.MaxGap))
		c.paths = append(c.paths, pathCounters{name: p.Name, late: p.Late, downs: p.Downs, maxGap: time.Duration(p.MaxGap)})
	}
	if r, ok := read(shm.SlotReceiver); ok {
		d := slots.ParseDaemon(r)
		c.recvLag = stallCount{d.Extra[slots.ExtraStalls], time.Duration(d.Extra[slots.ExtraMaxStall])}
	}
	if r, ok := read(shm.SlotSender); ok {
		d := slots.ParseDaemon(r)
		c.sendLag = stallCount{d.Extra[slots.ExtraStalls], time.Duration(d.Extra[slots.ExtraMaxStall])}
	}
	if r, ok := read(shm.SlotHad1); ok {
		d := slots.ParseDaemon(r)
		c.restarts = d.Extra[slots.ExtraRestartsHad2] + d.Extra[slots.ExtraRestartsSender] + d.Extra[slots.ExtraRestartsReceiver]
	}
	return c
}

// stressResult is part 4.
type stressResult struct {
	args       string
	took       time.Duration
	busy       float64          // percent of all CPUs busy during the run (/proc/stat)
	load       string           // /proc/loadavg at the end
	takeovers  int              // B's transitions to T
	fromB      int              // client replies from B
	overtime   [2]int           // OVERTIME lines of A's and B's receivers
	deferred   [2]int           // silences past the dead time that the receiver's own stalls kept from OVERTIME
	peerGap    [2]time.Duration // the longest silence of the peer on every path (the receiver's log)
	before     [2]nodeCounters
	after      [2]nodeCounters
	clientGap  time.Duration // the client's longest silence at the VIP
	clientLost float64       // percent of the client's requests unanswered
}

// measureStress runs a default cluster for d with stress-ng (args) loading
// the machine, and counts what a false failover would leave behind. stress-ng
// runs in the benchmark's session, so with autogroup scheduling it competes
// with the had processes in the same group rather than in a group of its own.
func measureStress(bin, rt, args string, d time.Duration, progress func(string)) (stressResult, error) {
	res := stressResult{args: args}
	bed, err := newBed()
	if err != nil {
		return res, err
	}
	defer bed.Close()
	c, err := cluster.New(bed, bin, cluster.Options{Realtime: rt})
	if err != nil {
		return res, err
	}
	p, err := startCluster(c)
	if err != nil {
		return res, err
	}
	var tables [2]*shm.Table
	for i, n := range cluster.Nodes {
		if tables[i], err = shm.Open(c.ShmPath(n)); err != nil {
			return res, err
		}
		defer tables[i].Close()
	}
	for i := range tables {
		res.before[i] = readCounters(tables[i])
	}
	cpu0, err := cpuBusy()
	if err != nil {
		return res, err
	}
	start := time.Now()
	sent0 := p.Sent()
	var stop func() error
	if args != "" {
		if stop, err = startStress(bed, args, d); err != nil {
			return res, err
		}
	}
	for elapsed := time.Duration(0); elapsed < d; {
		step := min(time.Minute, d-elapsed)
		time.Sleep(step)
		elapsed += step
		if progress != nil {
			a, b := readCounters(tables[0]), readCounters(tables[1])
			progress(fmt.Sprintf("%v: replies from B %d, late heartbeats A %d B %d, largest gap on any path A %v B %v",
				elapsed, countFrom(p.Replies(), "B", start), a.late-res.before[0].late, b.late-res.before[1].late,
				a.maxGap.Round(time.Millisecond), b.maxGap.Round(time.Millisecond)))
		}
	}
	if stop != nil {
		if err := stop(); err != nil {
			return res, err
		}
	}
	res.took = time.Since(start)
	cpu1, err := cpuBusy()
	if err != nil {
		return res, err
	}
	res.busy = cpu1.since(cpu0)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	sent := p.Sent() - sent0
	// A failover that the load started would show within a dead time or
	// two of its end.
	time.Sleep(2 * time.Second)
	for i := range tables {
		res.after[i] = readCounters(tables[i])
	}
	replies := p.Replies()
	res.fromB = countFrom(replies, "B", start)
	res.clientGap = longestGap(replies, start, start.Add(res.took))
	answered := 0
	for _, r := range replies {
		if r.Received.After(start) && r.Sent.Before(start.Add(res.took)) {
			answered++
		}
	}
	if sent > 0 {
		res.clientLost = 100 * float64(max(sent-answered, 0)) / float64(sent)
	}
	if res.takeovers, err = countLog(bed.LogPath("B", "had1"), start, func(l logLine) bool { return isTransition(l, "T") }); err != nil {
		return res, err
	}
	for i, n := range cluster.Nodes {
		log := bed.LogPath(n, "had1")
		if res.overtime[i], err = countLog(log, start, isOvertime); err != nil {
			return res, err
		}
		if res.deferred[i], err = countLog(log, start, isDeferred); err != nil {
			return res, err
		}
		if res.peerGap[i], err = longestSilence(log, start); err != nil {
			return res, err
		}
	}
	return res, nil
}

// isDeferred matches the receiver's line for a silence that reached the
// dead time only because the receiver itself was not run.
func isDeferred(l logLine) bool {
	return l.Proc == "receiver" && strings.HasPrefix(l.Msg, "peer silent for the dead time, but")
}

// longestSilence is the longest the receiver logged the peer silent on
// every path since the instant after: its "late heartbeat" lines (a gap
// over the warntime) and "peer heard again" after an OVERTIME. Gaps under
// the warntime are not logged: 0 then.
func longestSilence(path string, after time.Time) (time.Duration, error) {
	var longest float64
	err := scanLog(path, after, func(l logLine) bool {
		switch {
		case l.Proc != "receiver":
		case l.Msg == "late heartbeat":
			longest = max(longest, l.num("gap"))
		case strings.HasPrefix(l.Msg, "peer heard again"):
			longest = max(longest, l.num("silent"))
		}
		return true
	})
	return time.Duration(longest * float64(time.Millisecond)), err
}

func countFrom(replies []testbed.Reply, node string, since time.Time) int {
	n := 0
	for _, r := range replies {
		if r.Node == node && r.Received.After(since) {
			n++
		}
	}
	return n
}

// startStress starts stress-ng with args for about d (its own --timeout is
// a safety net a little longer) and returns the function that stops it: the
// process group it leads, which holds only its workers.
func startStress(bed *testbed.Bed, args string, d time.Duration) (func() error, error) {
	argv := append(strings.Fields(args), "--timeout", strconv.Itoa(int(d.Seconds())+10)+"s")
	f, err := os.Create(bed.LogPath("SW", "stress-ng"))
	if err != nil {
		return nil, fmt.Errorf("start stress-ng: %w", err)
	}
	defer f.Close()
	cmd := exec.Command("stress-ng", argv...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stress-ng: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pgid := cmd.Process.Pid
	return func() error {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		// Workers that outlived their parent are in the group too.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return nil
	}, nil
}

// cpuSample is the first line of /proc/stat.
type cpuSample struct{ idle, total uint64 }

// since is the percentage of CPU time busy between s0 and s.
func (s cpuSample) since(s0 cpuSample) float64 {
	if s.total <= s0.total {
		return 0
	}
	return 100 * (1 - float64(s.idle-s0.idle)/float64(s.total-s0.total))
}

func cpuBusy() (cpuSample, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}, fmt.Errorf("read cpu times: %w", err)
	}
	return parseCPUStat(b)
}

// parseCPUStat reads the aggregate "cpu" line: idle and iowait count as
// idle, everything but guest time (already in user) counts.
func parseCPUStat(b []byte) (cpuSample, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	sc := bufio.NewScanner(bytes.NewReader(line))
	sc.Split(bufio.ScanWords)
	var v []uint64
	for sc.Scan() {
		if len(v) == 0 && sc.Text() == "cpu" {
			v = append(v, 0)
			continue
		}
		n, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			return cpuSample{}, fmt.Errorf("parse /proc/stat: %w", err)
		}
		v = append(v, n)
	}
	if len(v) < 9 {
		return cpuSample{}, fmt.Errorf("parse /proc/stat: %d fields on the cpu line", len(v))
	}
	// v[1..]: user nice system idle iowait irq softirq steal guest guest_nice
	var s cpuSample
	for _, x := range v[1:9] {
		s.total += x
	}
	s.idle = v[4] + v[5]
	return s, nil
}
