package alerts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// errNoTerminal: none of the beep devices could be opened.
var errNoTerminal = errors.New("alerts: no terminal to beep on")

// beepDevices are tried in turn: the system console (root may write to
// it), then the controlling terminal, when had runs from one.
var beepDevices = []string{"/dev/console", "/dev/tty"}

// beep rings the terminal bell: it writes BEL (0x07) to the first of
// devices that opens. The devices are a field so that a test can point
// the channel at a FIFO it reads.
type beep struct {
	devices []string
}

// newBeep checks once that some device opens, and logs when none does:
// a beep that can never ring should be noticed at start, not per alert.
func newBeep(log zerolog.Logger) *beep {
	b := &beep{devices: beepDevices}
	f, err := b.open()
	if err != nil {
		log.Warn().Err(err).Strs("devices", b.devices).Msg("beep has no terminal")
		return b
	}
	f.Close()
	return b
}

func (*beep) name() string { return "beep" }

// open opens the first device that opens, without making it the
// controlling terminal, and non-blocking so that a stuck terminal (a
// serial console under flow control) times out rather than hangs.
func (b *beep) open() (*os.File, error) {
	var errs []error
	for _, dev := range b.devices {
		f, err := os.OpenFile(dev, os.O_WRONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return f, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: %w", errNoTerminal, errors.Join(errs...))
}

func (b *beep) deliver(ctx context.Context, _ alert) error {
	f, err := b.open()
	if err != nil {
		return err
	}
	defer f.Close()
	// Terminals and FIFOs are pollable, so the deadline holds; on other
	// files it is ignored.
	if dl, ok := ctx.Deadline(); ok {
		f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := f.Write([]byte{'\a'}); err != nil {
		return fmt.Errorf("beep on %s: %w", f.Name(), err)
	}
	return nil
}
