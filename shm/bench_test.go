package shm

import (
	"sync"
	"sync/atomic"
	"testing"
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
