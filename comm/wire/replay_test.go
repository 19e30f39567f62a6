package wire

import (
	"errors"
	"testing"
)

func TestReplay(t *testing.T) {
	type step struct {
		epoch, seq uint64
		wantErr    bool
	}
	tests := []struct {
		name  string
		steps []step
		want  Replay // after the steps
	}{
		{"first frame", []step{{1, 1, false}}, Replay{1, 1}},
		{"growing", []step{{1, 1, false}, {1, 2, false}, {1, 10, false}}, Replay{1, 10}},
		{"duplicate (second path)", []step{{1, 5, false}, {1, 5, true}}, Replay{1, 5}},
		{"reordered", []step{{1, 5, false}, {1, 4, true}, {1, 6, false}}, Replay{1, 6}},
		{"new epoch resets seq", []step{{1, 900, false}, {2, 1, false}, {2, 2, false}}, Replay{2, 2}},
		{"old epoch after new", []step{{2, 1, false}, {1, 1000, true}}, Replay{2, 1}},
		{"epoch jump", []step{{3, 7, false}, {9, 1, false}, {3, 8, true}}, Replay{9, 1}},
		{"huge seq", []step{{1, ^uint64(0) - 1, false}, {1, ^uint64(0), false}, {1, ^uint64(0), true}}, Replay{1, ^uint64(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Replay
			for i, s := range tt.steps {
				f := Frame{Epoch: s.epoch, Seq: s.seq}
				err := r.Check(&f)
				if gotErr := err != nil; gotErr != s.wantErr {
					t.Fatalf("step %d (%d,%d): got error %v, want error %v", i, s.epoch, s.seq, err, s.wantErr)
				}
				if err != nil && !errors.Is(err, ErrReplay) {
					t.Fatalf("step %d: got %v, want ErrReplay", i, err)
				}
				if err == nil {
					r.Accept(&f)
				}
			}
			if r != tt.want {
				t.Errorf("got %+v, want %+v", r, tt.want)
			}
		})
	}
}

// Accept of an older frame (one the receiver failed to Check) must not
// move the window back.
func TestReplayAcceptNeverRegresses(t *testing.T) {
	r := Replay{Epoch: 5, Seq: 50}
	for _, f := range []Frame{{Epoch: 4, Seq: 99}, {Epoch: 5, Seq: 49}, {Epoch: 5, Seq: 50}} {
		r.Accept(&f)
		if r != (Replay{5, 50}) {
			t.Fatalf("after Accept(%d,%d): got %+v, want {5 50}", f.Epoch, f.Seq, r)
		}
	}
}

// The zero Replay accepts any valid frame (Epoch, Seq ≥ 1) and rejects the
// zero ones, which Decode never returns.
func TestReplayZero(t *testing.T) {
	var r Replay
	if err := r.Check(&Frame{Epoch: 1, Seq: 1}); err != nil {
		t.Errorf("(1,1): got %v, want nil", err)
	}
	if err := r.Check(&Frame{}); !errors.Is(err, ErrReplay) {
		t.Errorf("(0,0): got %v, want ErrReplay", err)
	}
}
