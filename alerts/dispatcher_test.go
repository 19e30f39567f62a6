package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/config"
	"github.com/rs/zerolog"
)

func cfg(timeout, rateLimit time.Duration) config.Alerts {
	return config.Alerts{MinLevel: "warning", RateLimit: rateLimit, Timeout: timeout}
}

// TestHangingChannel: a command that hangs delays neither Send nor the
// other channels, and is killed with its whole process group at the
// timeout.
func TestHangingChannel(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// The shell starts a grandchild in the background, records its PID
	// (its process group, Setpgid), and waits.
	script := fmt.Sprintf("sleep 1000 & echo $$ > %s.tmp && mv %[1]s.tmp %[1]s; sleep 1000", pidFile)
	var logs syncBuffer
	other := &fake{nm: "other"}
	// Long enough for the shell to start on a loaded machine: the command
	// must still hang when the second event is sent.
	const timeout = 3 * time.Second
	d := start(cfg(timeout, 0), testLogger(&logs), queueLen, []channel{newLog(testLogger(&logs)), newCommand(script), other})
	t.Cleanup(d.Close)

	d.Send(ev("error", "path", "heartbeat path lan down"))
	if d.Stats()["command"].Failed != 0 {
		t.Fatalf("Send returned only after the hanging command's timeout")
	}
	var pgid int
	waitFor(t, 5*time.Second, "the command recorded its pid", func() bool {
		b, err := os.ReadFile(pidFile)
		pgid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pgid > 0
	})
	waitFor(t, 5*time.Second, "the shell and its sleeps run", func() bool { return len(liveInGroup(pgid)) >= 2 })
	// While the command hangs, the other channels deliver, and Send
	// still returns at once.
	waitFor(t, 5*time.Second, "the other channel delivered", func() bool { return len(other.alerts()) == 1 })
	begin := time.Now()
	d.Send(ev("error", "path", "heartbeat path serial down"))
	waitFor(t, 5*time.Second, "the other channel delivered the second event", func() bool { return len(other.alerts()) == 2 })
	if d.Stats()["command"].Failed != 0 {
		t.Fatalf("command failed before its timeout")
	}
	waitFor(t, 2*timeout, "the command failed at its timeout", func() bool { return d.Stats()["command"].Failed >= 1 })
	if elapsed := time.Since(begin); elapsed < timeout/2 {
		t.Errorf("command failed after %v, before its timeout %v", elapsed, timeout)
	}
	waitFor(t, time.Second, "the process group is gone", func() bool { return len(liveInGroup(pgid)) == 0 })
	if !strings.Contains(logs.String(), `"message":"alert not sent"`) {
		t.Errorf("no 'alert not sent' log line: %s", logs.String())
	}
}

func TestLevelFilter(t *testing.T) {
	var logs syncBuffer
	f := &fake{nm: "f"}
	c := cfg(time.Second, 0)
	c.MinLevel = "error"
	d := start(c, testLogger(&logs), queueLen, []channel{newLog(testLogger(&logs)), f})
	d.Send(ev("info", "admin", "i"))
	d.Send(ev("warning", "path", "w"))
	d.Send(ev("error", "path", "e"))
	d.Send(ev("bogus", "path", "b")) // unknown: sent rather than hidden
	d.Close()
	var got []string
	for _, a := range f.alerts() {
		got = append(got, a.Text)
	}
	if fmt.Sprint(got) != "[e b]" {
		t.Errorf("channel got %v, want [e b]", got)
	}
	if n := strings.Count(logs.String(), `"message":"alert"`); n != 4 {
		t.Errorf("got %d log lines, want all 4 events logged:\n%s", n, logs.String())
	}
	if s := d.Stats(); s["log"].Sent != 4 || s["f"].Sent != 2 {
		t.Errorf("got stats %+v, want log 4 sent, f 2", s)
	}
}

// TestRateLimit: a flapping path sends one mail per window, the next
// carries the count, and when the flapping stops the last state goes out.
func TestRateLimit(t *testing.T) {
	var logs syncBuffer
	f := &fake{nm: "f"}
	const every = 200 * time.Millisecond
	d := start(cfg(time.Second, every), testLogger(&logs), queueLen, []channel{newLog(testLogger(&logs)), f})
	t.Cleanup(d.Close)
	flap := func(text string) { d.Send(Event{Node: "alpha", Level: "warning", Kind: "path", Text: text}) }
	for range 5 {
		flap("lan down")
		flap("lan up")
	}
	flap("lan down") // the final state
	waitFor(t, 5*time.Second, "the held events flushed", func() bool { return len(f.alerts()) == 4 })
	got := f.alerts()
	if got[0].Text != "lan down" || got[0].held != 0 || got[1].Text != "lan up" || got[1].held != 0 {
		t.Errorf("first two: got %q %q, want lan down, lan up with no count", got[0].line(), got[1].line())
	}
	// After each window: the latest 'lan down' (of 5 held) and the latest
	// 'lan up' (of 4 held). Their order depends on which window ends
	// first, so look them up by text.
	flushed := map[string]alert{got[2].Text: got[2], got[3].Text: got[3]}
	if down, up := flushed["lan down"], flushed["lan up"]; down.held != 4 || up.held != 3 {
		t.Errorf("flushed: got %q, %q, want lan down (4 more), lan up (3 more)", got[2].line(), got[3].line())
	} else if !strings.Contains(down.line(), "(4 more since ") {
		t.Errorf("got %q, want it to say (4 more since …)", down.line())
	}
	s := d.Stats()["f"]
	if s.Sent != 4 || s.RateLimited != 7 || s.Dropped != 7 {
		t.Errorf("got %+v, want 4 sent, 7 rate-limited and dropped", s)
	}
	if n := strings.Count(logs.String(), `"message":"alert"`); n != 11 {
		t.Errorf("got %d log lines, want every one of the 11 events logged", n)
	}
}

func TestQueueFull(t *testing.T) {
	var logs syncBuffer
	stuck := &fake{nm: "stuck", hang: true}
	free := &fake{nm: "free"}
	d := start(cfg(time.Hour, 0), testLogger(&logs), 4, []channel{newLog(zerolog.Nop()), stuck, free})
	d.Send(ev("error", "path", "0"))
	waitFor(t, time.Second, "stuck took its first event", func() bool { return d.Stats()["stuck"].Queued == 0 })
	for i := 1; i < 20; i++ {
		d.Send(ev("error", "path", fmt.Sprint(i)))
	}
	// stuck holds event 0 in flight, so 1..19 went to a queue of 4.
	s := d.Stats()["stuck"]
	if s.QueueFull != 15 || s.Dropped != 15 || s.Queued != 4 {
		t.Errorf("got %+v, want 15 dropped as queue full, 4 queued", s)
	}
	waitFor(t, time.Second, "free delivered what it kept", func() bool {
		st := d.Stats()["free"]
		return st.Sent+st.QueueFull == 20
	})
	d.cancel() // let stuck go; Close would wait 2h
	d.Close()
}

// TestCloseFlushes: Close delivers what is queued.
func TestCloseFlushes(t *testing.T) {
	slow := &fake{nm: "slow", delay: 20 * time.Millisecond}
	const timeout = time.Second
	d := start(cfg(timeout, 0), zerolog.Nop(), queueLen, []channel{newLog(zerolog.Nop()), slow})
	for i := range 10 {
		d.Send(ev("error", "path", fmt.Sprint(i)))
	}
	begin := time.Now()
	d.Close()
	took := time.Since(begin)
	t.Logf("Close delivered 10 queued alerts in %v", took)
	if n := len(slow.alerts()); n != 10 {
		t.Errorf("got %d delivered, want 10", n)
	}
	if took > 2*timeout {
		t.Errorf("Close took %v, want at most %v", took, 2*timeout)
	}
	d.Send(ev("error", "path", "after close")) // ignored, and no panic
	d.Close()
	if n := len(slow.alerts()); n != 10 {
		t.Errorf("got %d delivered after a Send after Close, want 10", n)
	}
}

// TestCloseBound: with a channel that hangs, Close returns at its bound,
// and counts what it could not deliver.
func TestCloseBound(t *testing.T) {
	hang := &fake{nm: "hang", hang: true}
	const timeout = 200 * time.Millisecond
	d := start(cfg(timeout, 0), zerolog.Nop(), queueLen, []channel{newLog(zerolog.Nop()), hang})
	for i := range 5 {
		d.Send(ev("error", "path", fmt.Sprint(i)))
	}
	begin := time.Now()
	d.Close()
	took := time.Since(begin)
	t.Logf("Close gave up after %v (bound %v)", took, closeFactor*timeout)
	if took < closeFactor*timeout-10*time.Millisecond || took > closeFactor*timeout+500*time.Millisecond {
		t.Errorf("Close took %v, want about %v", took, closeFactor*timeout)
	}
	s := d.Stats()["hang"]
	if s.Sent != 0 || s.Failed+s.Dropped != 5 || s.Failed < 1 || s.Queued != 0 {
		t.Errorf("got %+v, want the 5 alerts failed or dropped", s)
	}
}

func TestFailedCounted(t *testing.T) {
	var logs syncBuffer
	bad := &fake{nm: "bad", fail: errors.New("boom")}
	d := start(cfg(time.Second, 0), testLogger(&logs), queueLen, []channel{newLog(zerolog.Nop()), bad})
	d.Send(ev("error", "path", "x"))
	d.Close()
	if s := d.Stats()["bad"]; s.Failed != 1 || s.Sent != 0 {
		t.Errorf("got %+v, want 1 failed", s)
	}
	var line map[string]any
	json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line)
	if line["message"] != "alert not sent" || line["channel"] != "bad" || line["error"] != "boom" ||
		line["alert"] != "had alpha: error: x at 2026-11-22T02:00:00Z" {
		t.Errorf("got log %v, want 'alert not sent' naming channel, error and alert", line)
	}
}

func TestNewChannels(t *testing.T) {
	c := config.DefaultAlerts()
	c.Email = config.Email{Server: "127.0.0.1:25", From: "had@example.org", To: []string{"ops@example.org"}}
	c.SMS.URL = "http://127.0.0.1:1/sms"
	c.Command = "true"
	d := New(c, zerolog.Nop())
	defer d.Close()
	var got []string
	for _, l := range d.lanes {
		got = append(got, l.ch.name())
	}
	if fmt.Sprint(got) != "[log email sms command]" {
		t.Errorf("got channels %v, want [log email sms command]", got)
	}
	d2 := New(config.Alerts{}, zerolog.Nop())
	defer d2.Close()
	if len(d2.lanes) != 1 || d2.timeout != config.DefaultAlertTimeout || d2.min != rank("warning") {
		t.Errorf("zero config: got %d channels, timeout %v, min %d; want the log, defaults", len(d2.lanes), d2.timeout, d2.min)
	}
}

func BenchmarkSend(b *testing.B) {
	chans := []channel{newLog(zerolog.New(io.Discard)), &fake{nm: "a"}, &fake{nm: "b"}, &fake{nm: "c"}, &fake{nm: "d"}}
	d := start(cfg(time.Second, time.Minute), zerolog.Nop(), queueLen, chans)
	defer d.Close()
	e := ev("error", "path", "heartbeat path lan down")
	b.ReportAllocs()
	for b.Loop() {
		d.Send(e)
	}
}

// BenchmarkSendFull: every channel hangs and every queue is full, so each
// Send drops an event per channel.
func BenchmarkSendFull(b *testing.B) {
	chans := []channel{newLog(zerolog.New(io.Discard)), &fake{nm: "a", hang: true}, &fake{nm: "b", hang: true},
		&fake{nm: "c", hang: true}, &fake{nm: "d", hang: true}}
	d := start(cfg(time.Hour, time.Minute), zerolog.Nop(), queueLen, chans)
	defer func() { d.cancel(); d.Close() }()
	e := ev("error", "path", "heartbeat path lan down")
	for range 2 * queueLen {
		d.Send(e)
	}
	b.ReportAllocs()
	for b.Loop() {
		d.Send(e)
	}
}
