package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame layout, protocol version 1. Every frame has the same length, Size
// bytes; all integers are big-endian.
//
//	off len field
//	  0   2 magic "HD" (0x48 0x44)
//	  2   1 version (1)
//	  3   4 cluster id
//	  7   1 sender node id (1..MaxNode)
//	  8   1 kind (Kind)
//	  9   1 sender state (State)
//	 10   1 flags (Flags)
//	 11   2 held groups (Groups)
//	 13   8 boot epoch
//	 21   8 sequence number
//	 29   8 sender time, unix ns
//	 37   4 request id
//	 41   8 echo time, unix ns
//	 49   4 echo delay, µs
//	 53   1 key id
//	 54  32 HMAC-SHA256(key[key id], bytes 0..53)
//	 86     end
//
// The MAC covers every byte before it, the cluster id included, but Decode
// compares the cluster id before computing the MAC: the frames of another
// cluster on the same LAN are signed with a key we do not have, and this way
// they are counted as what they are and cost no hashing.
const (
	Version = 1
	// Size is the length of every version-1 frame.
	Size = offMAC + macLen
	// MaxFrame is the longest frame Decode accepts; a receive buffer of
	// MaxFrame+1 bytes is enough to tell an oversized datagram.
	MaxFrame = Size
	// MaxNode is the highest node id: had is a two-node cluster.
	MaxNode = 2

	magic0, magic1 = 0x48, 0x44 // "HD"

	offVersion   = 2
	offCluster   = 3
	offNode      = 7
	offKind      = 8
	offState     = 9
	offFlags     = 10
	offHeld      = 11
	offEpoch     = 13
	offSeq       = 21
	offTime      = 29
	offReqID     = 37
	offEchoTime  = 41
	offEchoDelay = 49
	offKeyID     = 53
	offMAC       = 54
	macLen       = 32
)

// allGroups are the groups that exist: one per node.
const allGroups = Groups(1<<MaxNode - 1)

// Decode errors. Each is a different count at the receiver, so each drop
// reason is its own sentinel; test with errors.Is.
var (
	ErrShort      = errors.New("wire: truncated frame")
	ErrOversize   = errors.New("wire: oversized frame")
	ErrMagic      = errors.New("wire: bad magic")
	ErrVersion    = errors.New("wire: unsupported version")
	ErrCluster    = errors.New("wire: other cluster")
	ErrUnknownKey = errors.New("wire: unknown key id")
	ErrBadMAC     = errors.New("wire: bad mac")
	ErrInvalid    = errors.New("wire: invalid frame")
)

// Frame is one message from a node to its peer. Every frame carries the
// sender's whole state, so a lost frame costs nothing but its own interval.
type Frame struct {
	Kind    Kind
	State   State
	Flags   Flags  // unknown bits are carried, not rejected: flags are append-only
	Cluster uint32 // both nodes of one cluster share it; frames of others are dropped
	Node    uint8  // sender node id (1 or 2)
	Held    Groups // groups the sender holds or is starting/stopping
	// Epoch is the sender's boot epoch, ≥ 1. It must grow whenever the
	// sequence numbers start again, i.e. on every start of the sending
	// process, not only on every boot of the machine.
	Epoch uint64
	// Seq is the per-epoch sequence number, ≥ 1; it grows with every frame,
	// retransmissions included (a retransmission is a new frame with the
	// same ReqID, never the same bytes again: those are dropped as replays).
	Seq  uint64
	Time int64 // sender's wall clock, unix ns (for humans and one-way delay; not trusted for safety)
	// ReqID names a control request; acks echo the id they answer.
	ReqID uint32
	// EchoTime is the Time of the latest frame the sender received from us
	// (0 if none), EchoDelay the µs the sender held it before this send:
	// the round-trip time is now - EchoTime - EchoDelay on our own clock.
	EchoTime  int64
	EchoDelay uint32
}

// validate reports why f cannot be on the wire; the checks are the same for
// encoding and decoding, so whatever decodes also encodes.
func (f *Frame) validate() error {
	switch {
	case !f.Kind.Valid():
		return fmt.Errorf("%w: unknown kind %d", ErrInvalid, uint8(f.Kind))
	case !f.State.Valid():
		return fmt.Errorf("%w: unknown state %d", ErrInvalid, uint8(f.State))
	case f.Node == 0 || f.Node > MaxNode:
		return fmt.Errorf("%w: node %d", ErrInvalid, f.Node)
	case f.Held&^allGroups != 0:
		return fmt.Errorf("%w: held groups %#x", ErrInvalid, uint16(f.Held))
	case f.Epoch == 0:
		// Zero epoch and zero sequence are what a zero Replay has seen, so
		// they can never be accepted; rejecting them here says why.
		return fmt.Errorf("%w: epoch 0", ErrInvalid)
	case f.Seq == 0:
		return fmt.Errorf("%w: seq 0", ErrInvalid)
	}
	return nil
}

// appendBody appends the signed part of f (everything but the MAC).
func appendBody(b []byte, f *Frame, keyID uint8) []byte {
	b = append(b, magic0, magic1, Version)
	b = binary.BigEndian.AppendUint32(b, f.Cluster)
	b = append(b, f.Node, uint8(f.Kind), uint8(f.State), uint8(f.Flags))
	b = binary.BigEndian.AppendUint16(b, uint16(f.Held))
	b = binary.BigEndian.AppendUint64(b, f.Epoch)
	b = binary.BigEndian.AppendUint64(b, f.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(f.Time))
	b = binary.BigEndian.AppendUint32(b, f.ReqID)
	b = binary.BigEndian.AppendUint64(b, uint64(f.EchoTime))
	b = binary.BigEndian.AppendUint32(b, f.EchoDelay)
	return append(b, keyID)
}

// parseBody reads the fields of a frame of exactly Size bytes.
func parseBody(b []byte) Frame {
	be := binary.BigEndian
	return Frame{
		Cluster:   be.Uint32(b[offCluster:]),
		Node:      b[offNode],
		Kind:      Kind(b[offKind]),
		State:     State(b[offState]),
		Flags:     Flags(b[offFlags]),
		Held:      Groups(be.Uint16(b[offHeld:])),
		Epoch:     be.Uint64(b[offEpoch:]),
		Seq:       be.Uint64(b[offSeq:]),
		Time:      int64(be.Uint64(b[offTime:])),
		ReqID:     be.Uint32(b[offReqID:]),
		EchoTime:  int64(be.Uint64(b[offEchoTime:])),
		EchoDelay: be.Uint32(b[offEchoDelay:]),
	}
}

// checkHeader checks everything that can be checked without a key, in the
// order the receiver counts drops: length, magic, version, cluster.
func checkHeader(b []byte, cluster uint32) error {
	if len(b) < offCluster {
		return ErrShort
	}
	if b[0] != magic0 || b[1] != magic1 {
		return ErrMagic
	}
	// The version comes before the length so that a peer running a newer,
	// longer format reads as a version mismatch, which is what it is.
	if b[offVersion] != Version {
		return ErrVersion
	}
	if len(b) < Size {
		return ErrShort
	}
	if len(b) > MaxFrame {
		return ErrOversize
	}
	if binary.BigEndian.Uint32(b[offCluster:]) != cluster {
		return ErrCluster
	}
	return nil
}
