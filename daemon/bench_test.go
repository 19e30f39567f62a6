package daemon

import "testing"

// BenchmarkThreads is the cost KeepRealtime adds to a liveness bump.
func BenchmarkThreads(b *testing.B) {
	for b.Loop() {
		if _, err := threads(); err != nil {
			b.Fatal(err)
		}
	}
}
