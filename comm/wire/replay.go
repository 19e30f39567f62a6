package wire

import "errors"

// ErrReplay is returned for a frame that is not newer than the newest
// accepted one from the same peer.
var ErrReplay = errors.New("wire: replayed frame")

// Replay remembers the newest (epoch, sequence) accepted from one peer. It
// drops replays of recorded frames, frames delayed behind newer ones, and
// the second copy of a frame that arrives over several paths. The zero value
// has seen nothing: valid frames have Epoch and Seq ≥ 1.
//
// Check and Accept are split because only an authenticated frame may move
// the window: otherwise one forged frame with a huge sequence number would
// lock the real peer out. Decode verifies the MAC, so the receiver's order is
// Decode, Check, Accept.
type Replay struct{ Epoch, Seq uint64 }

// Check returns ErrReplay if f is from an older epoch, or from the current
// epoch with a sequence number not above the highest accepted.
func (r *Replay) Check(f *Frame) error {
	if f.Epoch < r.Epoch || (f.Epoch == r.Epoch && f.Seq <= r.Seq) {
		return ErrReplay
	}
	return nil
}

// Accept records f as seen. A newer epoch starts the sequence again; an
// older frame changes nothing, so Accept never moves backwards.
func (r *Replay) Accept(f *Frame) {
	switch {
	case f.Epoch > r.Epoch:
		r.Epoch, r.Seq = f.Epoch, f.Seq
	case f.Epoch == r.Epoch && f.Seq > r.Seq:
		r.Seq = f.Seq
	}
}
