package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/had2/fsm"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

var (
	// ErrNoAnswer: had2 or had1 did not answer within the timeout (HTTP 504).
	ErrNoAnswer = errors.New("admin: no answer")
	// ErrUnavailable: the process to ask does not run (HTTP 503).
	ErrUnavailable = errors.New("admin: not running")
)

// replyPoll bounds each wait between looks at the answer: had2 rings the
// admin bell when it answers (the answer is an event), so this is only the
// fallback should a ring be missed.
const replyPoll = 100 * time.Millisecond

// command writes an operator's request for had2 and waits for its answer.
// Requests take turns (the slot holds one request, and had2 acts on the
// newest only), so a second request waits for the first's answer. The
// wait for the answer outlives a client that leaves: the next request must
// not overwrite this one before had2 has read it.
func (s *Server) command(ctx context.Context, cmd fsm.AdminCmd, timeout time.Duration) (console.Reply, error) {
	select {
	case s.cmdTurn <- struct{}{}:
	case <-ctx.Done():
		return console.Reply{}, fmt.Errorf("request %v: %w", cmd, ctx.Err())
	}
	defer func() { <-s.cmdTurn }()

	r, _ := s.t.Read(shm.SlotAdmin)
	h, _ := s.t.Read(shm.SlotHad2)
	// The next id continues from the slot; had2's last answer bounds it
	// from below should the slot have been torn by a killed server.
	id := max(slots.ParseAdmin(r).ID, slots.ParseDaemon(h).Extra[slots.ExtraReplyID]) + 1
	s.t.Write(shm.SlotAdmin, slots.Admin{ID: id, Cmd: uint8(cmd)}.Record())
	s.t.Ring(shm.BellHad2)
	s.log.Info().Uint64("id", id).Str("command", cmd.String()).Msg("admin request sent")

	deadline := time.Now().Add(timeout)
	for {
		bell := s.t.BellValue(shm.BellAdmin)
		r, err := s.t.Read(shm.SlotHad2)
		if err == nil || errors.Is(err, shm.ErrStale) {
			if d := slots.ParseDaemon(r); d.Extra[slots.ExtraReplyID] == id {
				reply := console.Reply{ID: id, OK: d.Extra[slots.ExtraReplyOK] == 1, Text: d.Text}
				s.log.Info().Uint64("id", id).Bool("ok", reply.OK).Str("answer", reply.Text).Msg("admin request answered")
				return reply, nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return console.Reply{ID: id}, fmt.Errorf("request %v #%d: %w from had2 within %v", cmd, id, ErrNoAnswer, timeout)
		}
		s.t.Wait(shm.BellAdmin, bell, min(left, replyPoll))
	}
}

// reloadPoll is how often a reload looks for had1's answer: had1 rings no
// bell for it, and a reload is rare.
const reloadPoll = 20 * time.Millisecond

// reload asks had1 to re-read the configuration (SIGHUP) and waits until
// it has answered, that is until its reload count grows.
func (s *Server) reload(ctx context.Context, timeout time.Duration) (console.ReloadReply, error) {
	select {
	case s.reloadTurn <- struct{}{}:
	case <-ctx.Done():
		return console.ReloadReply{}, fmt.Errorf("reload: %w", ctx.Err())
	}
	defer func() { <-s.reloadTurn }()

	r, err := s.t.Read(shm.SlotHad1)
	had1 := slots.ParseDaemon(r)
	if err != nil && !errors.Is(err, shm.ErrStale) || r.Type != shm.TypeDaemon || had1.PID <= 0 {
		return console.ReloadReply{}, fmt.Errorf("reload: %w: had1 has no record", ErrUnavailable)
	}
	gen := had1.Extra[slots.ExtraReloadGen]
	if err := signalSame(int(had1.PID), had1.Start, unix.SIGHUP); err != nil {
		return console.ReloadReply{}, fmt.Errorf("reload: signal had1: %w", err)
	}
	s.log.Info().Int32("pid", had1.PID).Uint64("gen", gen).Msg("reload requested")
	deadline := time.Now().Add(timeout)
	for {
		r, err := s.t.Read(shm.SlotHad1)
		if err == nil || errors.Is(err, shm.ErrStale) {
			if d := slots.ParseDaemon(r); d.Extra[slots.ExtraReloadGen] > gen {
				reply := console.ReloadReply{OK: d.Extra[slots.ExtraReloadOK] == 1, Text: d.Text}
				s.log.Info().Bool("ok", reply.OK).Str("answer", reply.Text).Msg("reload answered")
				return reply, nil
			}
		}
		if time.Now().After(deadline) {
			return console.ReloadReply{}, fmt.Errorf("reload: %w from had1 within %v", ErrNoAnswer, timeout)
		}
		time.Sleep(reloadPoll)
	}
}

// signalSame sends sig to pid if it is still the process that started at
// start (/proc start time): the pidfd, taken before the check, pins the
// process, so the signal cannot hit a PID reused after the check.
func signalSame(pid int, start uint64, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("%w: pid %d: %w", ErrUnavailable, pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	if got, err := daemon.StartTime(pid); err != nil || got != start {
		return fmt.Errorf("%w: pid %d is another process now", ErrUnavailable, pid)
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("%w: pid %d: %w", ErrUnavailable, pid, err)
	}
	return nil
}
