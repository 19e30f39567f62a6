package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hadcluster/had/comm/wire"
)

// SnapshotSize is the length of Snapshot's output. had2 keeps it in the
// shared table so that a restarted had2 carries on where the old one was,
// invisibly to the peer.
const SnapshotSize = 176

// ErrSnapshot is returned by Restore for bytes it cannot use.
var ErrSnapshot = errors.New("fsm: bad snapshot")

// snapVersion 2 added the fence epochs; a version 1 snapshot (a had2 of
// the release before, during a rolling upgrade) restores with none.
const (
	snapVersion = 2
	snapV1Size  = 160
)

// snap is the fixed binary form of a Machine. Only fixed-size fields: it is
// written with encoding/binary.
type snap struct {
	Version, Phase, Label, Bits                  uint8
	Want, Permit, On, JobGroup, Failed, Conflict uint16
	RetryAt, FenceRetryAt, BootAt                int64
	NextID                                       uint32
	ReqKind, ReqFlags, ReqFrom, NAcks            uint8
	ReqID, ReqSends                              uint32
	ReqDeadline, ReqLastSent                     int64
	AckKind                                      [2]uint8
	AckRelease                                   [2]uint16
	AckID                                        [2]uint32
	NoticeID                                     uint32
	NoticeGroups                                 uint16
	NoticeFlags, AdminCmd                        uint8
	NoticeUntil, NoticeLastSent                  int64
	AdminID                                      uint64
	PeerEpoch, PeerSeq                           uint64
	PeerState, PeerFlags                         uint8
	PeerHeld                                     uint16
	HandledTakeReq, HandledRecover               uint32
	HandledTakeover, LastAckID                   uint32
	LastAckKind, Bits2                           uint8
	Redo                                         uint16
	_                                            [2]uint8
	FenceEpoch, DeadEpoch                        uint64
}

// Bits of snap.Bits.
const (
	bitJobStart = 1 << iota
	bitHold
	bitAgentsOK
	bitPeerDead
	bitNotice
	bitAdmin
	bitReqAcked
	bitPeerHeard
)

// Bits of snap.Bits2.
const (
	bitStopping = 1 << iota
	bitServiceFail
	bitSvcErr
)

// Snapshot returns the machine's state in SnapshotSize bytes. The peer's
// liveness is not kept: the restored machine learns it again from the
// receiver's record.
func (m *Machine) Snapshot() []byte {
	s := snap{
		Version: snapVersion, Phase: uint8(m.phase), Label: uint8(m.label),
		Want: uint16(m.want), Permit: uint16(m.permit), On: uint16(m.on), JobGroup: uint16(m.jobGroup),
		Failed: uint16(m.failed), Conflict: uint16(m.conflict),
		RetryAt: int64(m.retryAt), FenceRetryAt: int64(m.fenceRetryAt), BootAt: int64(m.bootAt),
		NextID:  m.nextID,
		ReqKind: uint8(m.req.kind), ReqFlags: uint8(m.req.flags), ReqFrom: uint8(m.req.from),
		ReqID: m.req.id, ReqSends: m.req.sends, ReqDeadline: int64(m.req.deadline), ReqLastSent: int64(m.req.lastSent),
		PeerEpoch: m.peer.epoch, PeerSeq: m.peer.seq, PeerState: uint8(m.peer.state), PeerFlags: uint8(m.peer.flags),
		PeerHeld:       uint16(m.peer.held),
		HandledTakeReq: m.handledTakeReq, HandledRecover: m.handledRecover, HandledTakeover: m.handledTakeover,
		LastAckID: m.lastAckID, LastAckKind: uint8(m.lastAckKind), Redo: uint16(m.redo),
		FenceEpoch: m.fenceEpoch, DeadEpoch: m.deadEpoch,
	}
	set := func(bit uint8, on bool) {
		if on {
			s.Bits |= bit
		}
	}
	set(bitJobStart, m.jobStart)
	set(bitHold, m.hold)
	set(bitAgentsOK, m.agentsOK)
	set(bitPeerDead, m.peerDead)
	set(bitReqAcked, m.req.acked)
	set(bitPeerHeard, m.peer.heard)
	if m.stopping {
		s.Bits2 |= bitStopping
	}
	if m.serviceFail {
		s.Bits2 |= bitServiceFail
	}
	if m.svcErr {
		s.Bits2 |= bitSvcErr
	}
	s.NAcks = uint8(len(m.acks))
	for i, a := range m.acks {
		s.AckKind[i], s.AckRelease[i], s.AckID[i] = uint8(a.kind), uint16(a.release), a.id
	}
	if n := m.notice; n != nil {
		s.Bits |= bitNotice
		s.NoticeID, s.NoticeGroups, s.NoticeFlags = n.id, uint16(n.groups), uint8(n.flags)
		s.NoticeUntil, s.NoticeLastSent = int64(n.until), int64(n.lastSent)
	}
	if a := m.admin; a != nil {
		s.Bits |= bitAdmin
		s.AdminID, s.AdminCmd = a.id, uint8(a.cmd)
	}
	var buf bytes.Buffer
	buf.Grow(SnapshotSize)
	_ = binary.Write(&buf, binary.LittleEndian, &s) // cannot fail: fixed-size struct into a buffer
	return buf.Bytes()
}

// Restore rebuilds a machine from Snapshot's bytes, at time now. A table
// that was running when the old process died is run again: a start is
// redone (starting what runs already succeeds), a stop is redone.
func Restore(cfg Config, b []byte, now time.Duration) (*Machine, error) {
	if len(b) >= snapV1Size && len(b) < SnapshotSize && b[0] == 1 {
		b = append(b[:snapV1Size:snapV1Size], make([]byte, SnapshotSize-snapV1Size)...)
	}
	if len(b) < SnapshotSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrSnapshot, len(b), SnapshotSize)
	}
	var s snap
	if err := binary.Read(bytes.NewReader(b[:SnapshotSize]), binary.LittleEndian, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if s.Version < 1 || s.Version > snapVersion || s.Phase < uint8(phBoot) || s.Phase > uint8(phFailed) || s.NAcks > 2 {
		return nil, fmt.Errorf("%w: version %d, phase %d, acks %d", ErrSnapshot, s.Version, s.Phase, s.NAcks)
	}
	m := &Machine{cfg: cfg, now: now, unservedSince: -1}
	m.derive()
	m.phase, m.label = phase(s.Phase), wire.State(s.Label)
	m.want, m.permit, m.on = wire.Groups(s.Want), wire.Groups(s.Permit), wire.Groups(s.On)
	m.failed, m.conflict = wire.Groups(s.Failed), wire.Groups(s.Conflict)
	m.retryAt, m.fenceRetryAt, m.bootAt = time.Duration(s.RetryAt), time.Duration(s.FenceRetryAt), time.Duration(s.BootAt)
	m.nextID = s.NextID
	m.hold = s.Bits&bitHold != 0
	m.agentsOK = s.Bits&bitAgentsOK != 0
	m.peerDead = s.Bits&bitPeerDead != 0
	m.stopping = s.Bits2&bitStopping != 0
	m.serviceFail = s.Bits2&bitServiceFail != 0
	m.svcErr = s.Bits2&bitSvcErr != 0
	m.req = request{kind: wire.Kind(s.ReqKind), id: s.ReqID, flags: wire.Flags(s.ReqFlags), from: phase(s.ReqFrom),
		sends: s.ReqSends, deadline: time.Duration(s.ReqDeadline), lastSent: time.Duration(s.ReqLastSent),
		acked: s.Bits&bitReqAcked != 0}
	for i := 0; i < int(s.NAcks); i++ {
		m.acks = append(m.acks, pendingAck{kind: wire.Kind(s.AckKind[i]), release: wire.Groups(s.AckRelease[i]), id: s.AckID[i]})
	}
	if s.Bits&bitNotice != 0 {
		m.notice = &notice{id: s.NoticeID, groups: wire.Groups(s.NoticeGroups), flags: wire.Flags(s.NoticeFlags),
			until: time.Duration(s.NoticeUntil), lastSent: time.Duration(s.NoticeLastSent)}
	}
	if s.Bits&bitAdmin != 0 {
		m.admin = &adminWait{id: s.AdminID, cmd: AdminCmd(s.AdminCmd)}
	}
	m.peer = peerView{heard: s.Bits&bitPeerHeard != 0, epoch: s.PeerEpoch, seq: s.PeerSeq,
		state: wire.State(s.PeerState), flags: wire.Flags(s.PeerFlags), held: wire.Groups(s.PeerHeld)}
	// Until the receiver's record says otherwise, a peer we had heard is
	// taken to be alive: a restart of had2 must not look like OVERTIME.
	m.peer.alive = m.peer.heard
	m.handledTakeReq, m.handledRecover, m.handledTakeover = s.HandledTakeReq, s.HandledRecover, s.HandledTakeover
	m.lastAckID, m.lastAckKind = s.LastAckID, wire.Kind(s.LastAckKind)
	m.fenceEpoch, m.deadEpoch = s.FenceEpoch, s.DeadEpoch
	// A table that was running when the old process died may have done
	// any part of its work: the group counts as held until it is run
	// again. An interrupted stop is redone by the usual stop; an
	// interrupted start is redone, or stopped if no longer wanted.
	m.redo = wire.Groups(s.Redo)
	if g := wire.Groups(s.JobGroup); g != 0 {
		m.on |= g
		if s.Bits&bitJobStart != 0 {
			m.redo |= g
		}
	}
	// Held groups are started again too: what their tables keep going in
	// the background (a VIP's watch against deletion, its announcement
	// refresh) died with the old process. Starting what runs succeeds.
	m.redo |= m.on & m.want
	return m, nil
}
