package shm

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func benchRecord() Record {
	r := Record{Type: TypeDaemon, Value: OK, Interval: 1 << 40, Counter: 1, Text: "running"}
	for i := range r.Data {
		r.Data[i] = uint64(i)
	}
	return r
}

func BenchmarkWrite(b *testing.B) {
	tb := newTable(b)
	r := benchRecord()
	for b.Loop() {
		r.Counter++
		tb.Write(SlotHad2, r)
	}
}

func BenchmarkRead(b *testing.B) {
	tb := newTable(b)
	tb.Write(SlotHad2, benchRecord())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tb.Read(SlotHad2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadWhileWriting reads a slot that another goroutine rewrites in
// a tight loop: the worst case, far above any real writer's rate.
func BenchmarkReadWhileWriting(b *testing.B) {
	tb := newTable(b)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := benchRecord()
		for !stop.Load() {
			r.Counter++
			tb.Write(SlotHad2, r)
		}
	}()
	torn := 0
	for b.Loop() {
		if _, err := tb.Read(SlotHad2); err != nil {
			torn++
		}
	}
	stop.Store(true)
	wg.Wait()
	b.ReportMetric(float64(torn)/float64(b.N), "torn/op")
}

func BenchmarkRing(b *testing.B) {
	tb := newTable(b)
	for b.Loop() {
		tb.Ring(BellSender)
	}
}

func BenchmarkNow(b *testing.B) {
	for b.Loop() {
		Now()
	}
}

// BenchmarkRingFile rings a table file's bell: the futex and the pipe.
func BenchmarkRingFile(b *testing.B) {
	tb := createTable(b)
	for b.Loop() {
		tb.Ring(BellSender)
	}
}

// BenchmarkBellRoundTrip: a ring through the sender's bell pipe wakes a
// sleeping goroutine, which rings back through had2's.
func BenchmarkBellRoundTrip(b *testing.B) {
	tb := createTable(b)
	ping, err := tb.BellSleeper(BellSender)
	if err != nil {
		b.Fatal(err)
	}
	defer ping.Close()
	pong, err := tb.BellSleeper(BellHad2)
	if err != nil {
		b.Fatal(err)
	}
	defer pong.Close()
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			ping.Sleep(Now() + int64(time.Second))
			tb.Ring(BellHad2)
		}
	}()
	for b.Loop() {
		tb.Ring(BellSender)
		pong.Sleep(Now() + int64(time.Second))
	}
	stop.Store(true)
	tb.Ring(BellSender)
	<-done
}
