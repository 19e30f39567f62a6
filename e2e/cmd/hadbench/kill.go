package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"syscall"
	"time"

	"github.com/hadcluster/had/e2e/cluster"
	"github.com/hadcluster/had/e2e/testbed"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// statsAgent is the agent of the idle part: the statistics agent, the
// busiest built-in one.
const statsAgent = `[[agent]]
name = "stats"
kind = "stats"`

// diskAgent is the agent of the kill part: not critical, so its kills test
// supervision and nothing else, and it checks at once when it starts (the
// stats agent waits for a second sample before its first result).
const diskAgent = `[[agent]]
name = "disk"
kind = "disk"`

// killTarget is one process of node A that part 2 kills.
type killTarget struct {
	name string
	slot int // the slot it writes: its PID, and its liveness
}

func killTargets() []killTarget {
	_, agentResult := slots.AgentSlots(0)
	return []killTarget{
		{"had1", shm.SlotHad1}, {"had2", shm.SlotHad2}, {"sender", shm.SlotSender},
		{"receiver", shm.SlotReceiver}, {"admin", shm.SlotAdminSrv}, {"agent (disk)", agentResult},
	}
}

// killResult is part 2's figures for one process.
type killResult struct {
	target  string
	back    []time.Duration // kill → the replacement's first write of its slot
	gap     []time.Duration // the client's longest silence at the VIP around each kill
	fromB   int             // replies from B during this target's kills: failovers
	toT     int             // B's transitions to T during this target's kills
	timeout int             // kills after which no replacement wrote within killWait
}

// killWait bounds the wait for a replacement; killSettle is how long the
// client is watched after the replacement is back (a missed heartbeat
// would show as a failover within the dead time).
const (
	killWait   = 5 * time.Second
	killSettle = time.Second
)

// stableAfter is how long a replacement runs before its process is killed
// again: longer than the Stable period of had1's restart policy (10 s),
// after which a death counts as a first failure again.
const stableAfter = 11 * time.Second

// measureKills kills each process of A n times on one cluster (with the
// stats agent) and returns its figures, plus the client's longest gap in
// a window of the same length without a kill, for comparison.
func measureKills(bin, rt string, n int) ([]killResult, time.Duration, error) {
	bed, err := newBed()
	if err != nil {
		return nil, 0, err
	}
	defer bed.Close()
	c, err := cluster.New(bed, bin, cluster.Options{Agents: diskAgent, Realtime: rt})
	if err != nil {
		return nil, 0, err
	}
	p, err := startCluster(c)
	if err != nil {
		return nil, 0, err
	}
	t, err := shm.Open(c.ShmPath("A"))
	if err != nil {
		return nil, 0, err
	}
	defer t.Close()
	if err := waitAlive(t, killTargets(), 10*time.Second); err != nil {
		return nil, 0, err
	}
	base := time.Now()
	time.Sleep(2 * killSettle)
	baseline := longestGap(p.Replies(), base, time.Now())

	// Round robin over the processes, each killed again only once its
	// replacement has run longer than the supervisors' stable period: a
	// process that keeps dying sooner is a crash loop, restarted with a
	// growing backoff (10 ms doubling to 2 s) by design, not a kill -9.
	targets := killTargets()
	out := make([]killResult, len(targets))
	lastBack := make([]time.Time, len(targets))
	logB := bed.LogPath("B", "had1")
	for i := 0; i < n; i++ {
		for j, k := range targets {
			res := &out[j]
			res.target = k.name
			if wait := time.Until(lastBack[j].Add(stableAfter)); wait > 0 {
				time.Sleep(wait)
			}
			if err := waitAlive(t, targets, 10*time.Second); err != nil {
				return nil, 0, fmt.Errorf("%s run %d: %w", k.name, i, err)
			}
			// A random phase of the liveness and heartbeat periods.
			time.Sleep(time.Duration(rand.Int64N(int64(500 * time.Millisecond))))
			old, err := t.Read(k.slot)
			if err != nil && !errors.Is(err, shm.ErrStale) || old.PID <= 0 {
				return nil, 0, fmt.Errorf("%s run %d: no pid in its slot (%v)", k.name, i, err)
			}
			killed, killedWall := shm.Now(), time.Now()
			if err := syscall.Kill(int(old.PID), syscall.SIGKILL); err != nil {
				return nil, 0, fmt.Errorf("kill %s (%d): %w", k.name, old.PID, err)
			}
			rec, ok := waitReplacement(t, k.slot, old.PID, killed, killWait)
			back := time.Duration(rec.Stamp - killed)
			if !ok {
				res.timeout++
				back = -1
			}
			lastBack[j] = time.Now()
			res.back = append(res.back, back)
			time.Sleep(killSettle)
			end := killedWall.Add(max(back, 0) + killSettle)
			res.gap = append(res.gap, longestGap(p.Replies(), killedWall, end))
			for _, r := range p.Replies() {
				if r.Node == "B" && r.Received.After(killedWall) && !r.Received.After(end) {
					res.fromB++
				}
			}
			toT, err := countLog(logB, killedWall, func(l logLine) bool { return isTransition(l, "T") && !l.Time.After(end) })
			if err != nil {
				return nil, 0, err
			}
			res.toT += toT
		}
	}
	return out, baseline, nil
}

// waitReplacement polls slot every millisecond until a process other than
// old has written it after the instant killed (shm.Now clock), and returns
// that record: its Stamp is the replacement's write.
func waitReplacement(t *shm.Table, slot int, old int32, killed int64, timeout time.Duration) (shm.Record, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r, err := t.Read(slot)
		if (err == nil || errors.Is(err, shm.ErrStale)) && r.PID > 0 && r.PID != old && r.Stamp > killed {
			return r, true
		}
		time.Sleep(time.Millisecond)
	}
	return shm.Record{}, false
}

// waitAlive waits until every target's slot has been written within its
// writer's hang timeout.
func waitAlive(t *shm.Table, targets []killTarget, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var dead []string
		for _, k := range targets {
			r, err := t.Read(k.slot)
			if err != nil || r.PID <= 0 {
				dead = append(dead, k.name)
			}
		}
		if len(dead) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes not alive after %v: %v", timeout, dead)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// longestGap is the longest silence at the client between consecutive
// answers that overlaps the window [from, to]: from the last answer before
// from, through every answer in the window, to the first one after to.
func longestGap(replies []testbed.Reply, from, to time.Time) time.Duration {
	i := sort.Search(len(replies), func(i int) bool { return !replies[i].Received.Before(from) })
	i = max(i-1, 0)
	var longest time.Duration
	for ; i+1 < len(replies); i++ {
		longest = max(longest, replies[i+1].Received.Sub(replies[i].Received))
		if replies[i+1].Received.After(to) {
			break
		}
	}
	return longest
}
