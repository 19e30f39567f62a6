package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hadcluster/had/console"
)

// Terminal codes of the live view: the alternate screen (the shell's
// screen comes back afterwards), cursor hidden, clear and home per frame.
const (
	enterScreen = "\x1b[?1049h\x1b[?25l"
	leaveScreen = "\x1b[?25h\x1b[?1049l"
	clearHome   = "\x1b[H\x1b[2J"
)

// top is the live view: a frame every second until q or Ctrl-C; one
// frame, without terminal codes, with --once or when stdout is not a
// terminal.
func top(ctx context.Context, c *console.Client, o options, stdout, stderr io.Writer) int {
	out, isFile := stdout.(*os.File)
	tty := isFile && isTerminal(int(out.Fd()))
	if o.once || !tty {
		frame, err := topFrame(ctx, c, 0)
		if err != nil {
			fmt.Fprintln(stderr, "hactl:", err)
			return 1
		}
		fmt.Fprint(stdout, frame)
		return 0
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	keys := make(chan byte, 8)
	if restore, err := cbreak(int(os.Stdin.Fd())); err == nil {
		defer restore()
		go readKeys(os.Stdin, keys)
	}
	fmt.Fprint(stdout, enterScreen)
	defer fmt.Fprint(stdout, leaveScreen)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		width, height := termSize(int(out.Fd()))
		frame, err := topFrame(ctx, c, width)
		if err != nil {
			frame = fmt.Sprintf("had top: %v\n", err)
		}
		fmt.Fprint(stdout, clearHome+cutLines(frame, height-1)+"q: quit")
		select {
		case <-ctx.Done():
			return 0
		case k := <-keys:
			if k == 'q' || k == 'Q' || k == 3 {
				return 0
			}
		case <-tick.C:
		}
	}
}

// topFrame reads the status and the last minute of history and renders them.
func topFrame(ctx context.Context, c *console.Client, width int) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st, err := c.Status(rctx)
	if err != nil {
		return "", err
	}
	h, err := c.History(rctx, st.Local.Taken.Add(-console.TopSpan))
	if err != nil {
		h = console.History{} // a frame without sparklines beats none
	}
	return console.Frame(st, h.Samples, width), nil
}

// cutLines keeps the first n lines of s (n ≤ 0: all), so a frame taller
// than the terminal does not scroll its top away.
func cutLines(s string, n int) string {
	if n <= 0 {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "")
}

func readKeys(r io.Reader, keys chan<- byte) {
	buf := make([]byte, 16)
	for {
		n, err := r.Read(buf)
		for _, k := range buf[:n] {
			keys <- k
		}
		if err != nil {
			return
		}
	}
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

func termSize(fd int) (width, height int) {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 0, 0
	}
	return int(ws.Col), int(ws.Row)
}

// cbreak makes the terminal hand over each key at once, unechoed; Ctrl-C
// still interrupts. It returns how to restore the terminal.
func cbreak(fd int) (restore func(), err error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Lflag &^= unix.ICANON | unix.ECHO
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
