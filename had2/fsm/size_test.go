package fsm

import (
	"encoding/binary"
	"testing"
)

func TestSnapshotSize(t *testing.T) {
	if got := binary.Size(snap{}); got != SnapshotSize {
		t.Fatalf("binary.Size(snap) = %d, want SnapshotSize %d", got, SnapshotSize)
	}
}
