package tables_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hadcluster/had/tables"
	"github.com/hadcluster/had/tables/tablestest"
	"github.com/rs/zerolog"
)

func mustParse(t *testing.T, text string) *tables.Table {
	t.Helper()
	tb, err := tables.Parse("t.table", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tb
}

// TestExecutor runs scripted operations on a table over the fake and
// compares the transcript: the fake's log of OS operations between "> op"
// and "< result after elapsed" lines. It runs in a synctest bubble, so
// timeouts, retries and announcement intervals take no real time and the
// elapsed times are exact.
func TestExecutor(t *testing.T) {
	const two = `vip 10.213.0.100/32 dev=eth0 garp_count=1
cmd name=web start=x stop=y
vip 10.213.0.101/32 dev=eth1 garp_count=1 label=eth1:b
`
	tests := []struct {
		name  string
		table string
		setup func(f *tablestest.Fake)
		ops   []string // start, stop, reannounce, release, or a duration to sleep
		want  string
	}{
		{
			name: "start in order, stop in reverse", table: two, ops: []string{"start", "stop"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
run web start
watch 10.213.0.101/32 dev eth1
addr add 10.213.0.101/32 dev eth1 label eth1:b
garp 10.213.0.101 dev eth1
< ok after 0s
> stop
unwatch 10.213.0.101/32 dev eth1
addr del 10.213.0.101/32 dev eth1
run web stop
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0
< ok after 0s`,
		},
		{
			name: "start stops at the first failure; stop stops everything", table: two,
			setup: func(f *tablestest.Fake) { f.Fail("run web start", -1) },
			ops:   []string{"start", "stop"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
run web start [fail]
< t.table:2: cmd web: start: run start: run web start: tablestest: injected failure after 0s
> stop
addr del 10.213.0.101/32 dev eth1
run web stop
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0
< ok after 0s`,
		},
		{
			name: "a failed stop is retried", table: two,
			setup: func(f *tablestest.Fake) { f.Fail("run web stop", 1) },
			ops:   []string{"start", "stop"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
run web start
watch 10.213.0.101/32 dev eth1
addr add 10.213.0.101/32 dev eth1 label eth1:b
garp 10.213.0.101 dev eth1
< ok after 0s
> stop
unwatch 10.213.0.101/32 dev eth1
addr del 10.213.0.101/32 dev eth1
run web stop [fail]
run web stop
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0
< ok after 200ms`,
		},
		{
			name: "stop goes on past failures and reports them all", table: two,
			setup: func(f *tablestest.Fake) {
				f.Fail("run web stop", -1)
				f.Fail("addr del 10.213.0.100/32 dev eth0", -1)
			},
			ops: []string{"stop"},
			want: `
> stop
addr del 10.213.0.101/32 dev eth1
run web stop [fail]
run web stop [fail]
run web stop [fail]
addr del 10.213.0.100/32 dev eth0 [fail]
addr del 10.213.0.100/32 dev eth0 [fail]
addr del 10.213.0.100/32 dev eth0 [fail]
< t.table:2: cmd web: stop: run stop: run web stop: tablestest: injected failure
  t.table:1: vip 10.213.0.100: stop: delete 10.213.0.100/32 from eth0: addr del 10.213.0.100/32 dev eth0: tablestest: injected failure after 800ms`,
		},
		{
			name: "a step that outlives its timeout fails the start",
			table: `vip 10.213.0.100/32 dev=eth0 garp_count=1
cmd name=web start=x stop=y timeout=5s
`,
			setup: func(f *tablestest.Fake) { f.Hang("run web start", 1) },
			ops:   []string{"start"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
run web start [hang]
< t.table:2: cmd web: start: tables: step timed out after 5s: run start: context deadline exceeded after 5s`,
		},
		{
			name:  "a stop that times out is retried",
			table: "cmd name=web start=x stop=y timeout=2s\n",
			setup: func(f *tablestest.Fake) { f.Hang("run web stop", 1) },
			ops:   []string{"stop"},
			want: `
> stop
run web stop [hang]
run web stop
< ok after 2.2s`,
		},
		{
			name:  "a hung call that ignores its context is abandoned",
			table: "vip 10.213.0.100/32 dev=eth0 timeout=1s\n",
			setup: func(f *tablestest.Fake) { f.Hang("addr add 10.213.0.100/32 dev eth0 label eth0:ha", 1) },
			ops:   []string{"start", "release"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha [hang]
< t.table:1: vip 10.213.0.100: start: tables: step timed out after 1s: abandoned 5s later, still running after 6s
> release
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0`,
		},
		{
			name: "starting what runs and stopping what is stopped succeed",
			table: `vip 10.213.0.100/32 dev=eth0 garp_count=1
cmd name=web start=x stop=y status=z
`,
			setup: func(f *tablestest.Fake) {
				f.SetAddr("eth0", pfx("10.213.0.100/32"), "eth0:ha")
				f.SetRunning("web", true)
			},
			ops: []string{"start", "start", "stop", "stop"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
run web status
< ok after 0s
> start
unwatch 10.213.0.100/32 dev eth0
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
run web status
< ok after 0s
> stop
run web stop
run web status
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0
< ok after 0s
> stop
run web stop
run web status
addr del 10.213.0.100/32 dev eth0
< ok after 0s`,
		},
		{
			name:  "status starts what is not running",
			table: "cmd name=web start=x stop=y status=z\n",
			ops:   []string{"start"},
			want: `
> start
run web status
run web start
< ok after 0s`,
		},
		{
			name:  "a stop that leaves the service running fails",
			table: "cmd name=web start=x stop=y status=z\n",
			setup: func(f *tablestest.Fake) { f.SetRunning("web", true); f.SetStuck("web", true) },
			ops:   []string{"stop"},
			want: `
> stop
run web stop
run web status
run web stop
run web status
run web stop
run web status
< t.table:1: cmd web: stop: status exited 0: tables: still running after stop after 400ms`,
		},
		{
			name:  "announcements repeat in the background until stop",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=4 garp_interval=500ms\n",
			ops:   []string{"start", "1.2s", "stop", "5s"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
< ok after 0s
> sleep 1.2s
garp 10.213.0.100 dev eth0
garp 10.213.0.100 dev eth0
> stop
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0
< ok after 0s
> sleep 5s`,
		},
		{
			name:  "all announcements are sent",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=3 garp_interval=1s\n",
			ops:   []string{"start", "10s"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
< ok after 0s
> sleep 10s
garp 10.213.0.100 dev eth0
garp 10.213.0.100 dev eth0`,
		},
		{
			name:  "garp_count=0 announces nothing",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=0\n",
			ops:   []string{"start", "10s"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
< ok after 0s
> sleep 10s`,
		},
		{
			name:  "a failed announcement does not fail the start",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=2 garp_interval=100ms\n",
			setup: func(f *tablestest.Fake) { f.Fail("garp 10.213.0.100 dev eth0", 1) },
			ops:   []string{"start", "1s"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0 [fail]
< ok after 0s
> sleep 1s
garp 10.213.0.100 dev eth0`,
		},
		{
			name: "reannounce announces the addresses held, from the first burst",
			table: `vip 10.213.0.100/32 dev=eth0 garp_count=2 garp_interval=1s
cmd name=web start=x stop=y
vip 10.213.0.101/32 dev=eth1
`,
			setup: func(f *tablestest.Fake) { f.SetAddr("eth0", pfx("10.213.0.100/32"), "eth0:ha") },
			ops:   []string{"reannounce", "5s"},
			want: `
> reannounce
garp 10.213.0.100 dev eth0
< ok after 0s
> sleep 5s
garp 10.213.0.100 dev eth0`,
		},
		{
			name:  "reannounce restarts running repeats",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=3 garp_interval=1s\n",
			ops:   []string{"start", "1.5s", "reannounce", "5s"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
< ok after 0s
> sleep 1.5s
garp 10.213.0.100 dev eth0
> reannounce
garp 10.213.0.100 dev eth0
< ok after 0s
> sleep 5s
garp 10.213.0.100 dev eth0
garp 10.213.0.100 dev eth0`,
		},
		{
			name:  "reannounce reports a failed lookup",
			table: "vip 10.213.0.100/32 dev=eth0\n",
			setup: func(f *tablestest.Fake) { f.Fail("addr has 10.213.0.100/32 dev eth0", -1) },
			ops:   []string{"reannounce"},
			want: `
> reannounce
< t.table:1: vip 10.213.0.100: reannounce: look up 10.213.0.100/32 on eth0: addr has 10.213.0.100/32 dev eth0: tablestest: injected failure after 0s`,
		},
		{
			name:  "an IPv6 vip is announced by neighbour advertisements",
			table: "vip 2001:db8::100/128 dev=eth0 garp_count=2 garp_interval=1s\n",
			ops:   []string{"start", "5s", "reannounce", "stop"},
			want: `
> start
watch 2001:db8::100/128 dev eth0
addr add 2001:db8::100/128 dev eth0
na 2001:db8::100 dev eth0
< ok after 0s
> sleep 5s
na 2001:db8::100 dev eth0
> reannounce
na 2001:db8::100 dev eth0
< ok after 0s
> stop
unwatch 2001:db8::100/128 dev eth0
addr del 2001:db8::100/128 dev eth0
< ok after 0s`,
		},
		{
			name:  "a vip deleted behind had's back is re-added and announced at once",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=2 garp_interval=1s\n",
			ops:   []string{"start", "5s", "delete eth0 10.213.0.100/32", "5s", "stop", "delete eth0 10.213.0.100/32", "5s"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
< ok after 0s
> sleep 5s
garp 10.213.0.100 dev eth0
> delete eth0 10.213.0.100/32
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
> sleep 5s
garp 10.213.0.100 dev eth0
> stop
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0
< ok after 0s
> delete eth0 10.213.0.100/32
> sleep 5s`,
		},
		{
			name:  "an IPv6 vip deleted behind had's back is re-added",
			table: "vip 2001:db8::100/128 dev=eth0 garp_count=1\n",
			ops:   []string{"start", "delete eth0 2001:db8::100/128", "stop"},
			want: `
> start
watch 2001:db8::100/128 dev eth0
addr add 2001:db8::100/128 dev eth0
na 2001:db8::100 dev eth0
< ok after 0s
> delete eth0 2001:db8::100/128
addr add 2001:db8::100/128 dev eth0
na 2001:db8::100 dev eth0
> stop
unwatch 2001:db8::100/128 dev eth0
addr del 2001:db8::100/128 dev eth0
< ok after 0s`,
		},
		{
			name:  "after lost events a vanished vip is re-added, a present one left alone",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=1\nvip 10.213.0.101/32 dev=eth0 garp_count=1\n",
			ops:   []string{"start", "vanish eth0 10.213.0.101/32", "resync", "resync"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
watch 10.213.0.101/32 dev eth0
addr add 10.213.0.101/32 dev eth0 label eth0:ha
garp 10.213.0.101 dev eth0
< ok after 0s
> vanish eth0 10.213.0.101/32
> resync
addr add 10.213.0.101/32 dev eth0 label eth0:ha
garp 10.213.0.101 dev eth0
> resync`,
		},
		{
			name:  "garp_refresh announces every period and puts back a vanished vip",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=1 garp_refresh=30s\n",
			ops:   []string{"start", "65s", "vanish eth0 10.213.0.100/32", "30s", "stop", "65s"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
< ok after 0s
> sleep 1m5s
garp 10.213.0.100 dev eth0
garp 10.213.0.100 dev eth0
> vanish eth0 10.213.0.100/32
> sleep 30s
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
> stop
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0
< ok after 0s
> sleep 1m5s`,
		},
		{
			name:  "re-adds slow down when something keeps deleting the vip",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=0\n",
			ops: []string{"start",
				"delete eth0 10.213.0.100/32", "delete eth0 10.213.0.100/32", "delete eth0 10.213.0.100/32",
				"delete eth0 10.213.0.100/32", "delete eth0 10.213.0.100/32", "delete eth0 10.213.0.100/32",
				"delete eth0 10.213.0.100/32", "10s", "stop"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
< ok after 0s
> delete eth0 10.213.0.100/32
addr add 10.213.0.100/32 dev eth0 label eth0:ha
> delete eth0 10.213.0.100/32
addr add 10.213.0.100/32 dev eth0 label eth0:ha
> delete eth0 10.213.0.100/32
addr add 10.213.0.100/32 dev eth0 label eth0:ha
> delete eth0 10.213.0.100/32
addr add 10.213.0.100/32 dev eth0 label eth0:ha
> delete eth0 10.213.0.100/32
addr add 10.213.0.100/32 dev eth0 label eth0:ha
> delete eth0 10.213.0.100/32
> delete eth0 10.213.0.100/32
> sleep 10s
addr add 10.213.0.100/32 dev eth0 label eth0:ha
> stop
unwatch 10.213.0.100/32 dev eth0
addr del 10.213.0.100/32 dev eth0
< ok after 0s`,
		},
		{
			name:  "a failed re-add is logged and tried again at the next event",
			table: "vip 10.213.0.100/32 dev=eth0 garp_count=1\n",
			ops: []string{"start", "fail 1 addr add 10.213.0.100/32 dev eth0 label eth0:ha",
				"delete eth0 10.213.0.100/32", "resync"},
			want: `
> start
watch 10.213.0.100/32 dev eth0
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0
< ok after 0s
> fail 1 addr add 10.213.0.100/32 dev eth0 label eth0:ha
> delete eth0 10.213.0.100/32
addr add 10.213.0.100/32 dev eth0 label eth0:ha [fail]
> resync
addr add 10.213.0.100/32 dev eth0 label eth0:ha
garp 10.213.0.100 dev eth0`,
		},
		{
			name:  "services: start asks the status first, stop checks it",
			table: "service unit=nginx.service\nservice lsb=/etc/init.d/websvc\n",
			setup: func(f *tablestest.Fake) { f.SetRunning("nginx.service", true) },
			ops:   []string{"start", "stop", "stop"},
			want: `
> start
run nginx.service status
run websvc status
run websvc start
< ok after 0s
> stop
run websvc stop
run websvc status
run nginx.service stop
run nginx.service status
< ok after 0s
> stop
run websvc stop
run websvc status
run nginx.service stop
run nginx.service status
< ok after 0s`,
		},
		{
			name:  "an LSB status that cannot tell fails the stop",
			table: "service lsb=/etc/init.d/websvc\n",
			setup: func(f *tablestest.Fake) { f.Exit("run websvc status", 4, -1) },
			ops:   []string{"stop"},
			want: `
> stop
run websvc stop
run websvc status [exit 4]
run websvc stop
run websvc status [exit 4]
run websvc stop
run websvc status [exit 4]
< t.table:1: service websvc: stop: status after stop cannot tell (exit status 4); want 1, 2 or 3 (LSB: not running) after 400ms`,
		},
		{
			name:  "a service still running after stop fails the stop",
			table: "service unit=nginx.service\n",
			setup: func(f *tablestest.Fake) { f.SetRunning("nginx.service", true); f.SetStuck("nginx.service", true) },
			ops:   []string{"stop"},
			want: `
> stop
run nginx.service stop
run nginx.service status
run nginx.service stop
run nginx.service status
run nginx.service stop
run nginx.service status
< t.table:1: service nginx.service: stop: status exited 0: tables: still running after stop after 400ms`,
		},
		{
			name:  "ocf: monitor, start, monitor; running already: monitor only; stop then monitor",
			table: "ocf agent=heartbeat:Dummy name=d1\n",
			ops:   []string{"start", "start", "stop", "stop"},
			want: `
> start
run d1 monitor
run d1 start
run d1 monitor
< ok after 0s
> start
run d1 monitor
< ok after 0s
> stop
run d1 stop
run d1 monitor
< ok after 0s
> stop
run d1 stop
run d1 monitor
< ok after 0s`,
		},
		{
			name:  "ocf: a failed resource is stopped before it is started",
			table: "ocf agent=heartbeat:anything name=a1\n",
			setup: func(f *tablestest.Fake) { f.Exit("run a1 monitor", 1, 1) },
			ops:   []string{"start"},
			want: `
> start
run a1 monitor [exit 1]
run a1 stop
run a1 start
run a1 monitor
< ok after 0s`,
		},
		{
			name:  "ocf: a hard error of monitor fails the start at once",
			table: "ocf agent=heartbeat:Dummy name=d1\n",
			setup: func(f *tablestest.Fake) { f.Exit("run d1 monitor", 5, 1) },
			ops:   []string{"start"},
			want: `
> start
run d1 monitor [exit 5]
< t.table:1: ocf d1: start: before start: monitor: OCF_ERR_INSTALLED: exit status 5 after 0s`,
		},
		{
			name:  "ocf: a start that leaves it stopped fails",
			table: "ocf agent=heartbeat:Dummy name=d1\n",
			setup: func(f *tablestest.Fake) { f.Exit("run d1 monitor", 7, -1) },
			ops:   []string{"start"},
			want: `
> start
run d1 monitor [exit 7]
run d1 start
run d1 monitor [exit 7]
< t.table:1: ocf d1: start: after start: monitor: OCF_NOT_RUNNING (7) after 0s`,
		},
		{
			name:  "ocf: a stop that leaves it running fails",
			table: "ocf agent=heartbeat:Dummy name=d1 timeout=1s\n",
			setup: func(f *tablestest.Fake) { f.SetRunning("d1", true); f.SetStuck("d1", true) },
			ops:   []string{"stop"},
			want: `
> stop
run d1 stop
run d1 monitor
run d1 stop
run d1 monitor
run d1 stop
run d1 monitor
< t.table:1: ocf d1: stop: monitor exited 0: tables: still running after stop after 400ms`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tb := mustParse(t, tt.table)
				f := tablestest.New()
				defer f.Release()
				if tt.setup != nil {
					tt.setup(f)
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				var out strings.Builder
				for _, op := range tt.ops {
					if bg := background(f, op); bg != nil {
						out.WriteString("\n> " + op)
						bg()
						synctest.Wait()
						for _, l := range f.Take() {
							out.WriteString("\n" + l)
						}
						continue
					}
					if d, err := time.ParseDuration(op); err == nil {
						fmt.Fprintf(&out, "\n> sleep %v", d)
						time.Sleep(d)
						synctest.Wait()
						for _, l := range f.Take() {
							out.WriteString("\n" + l)
						}
						continue
					}
					fmt.Fprintf(&out, "\n> %s", op)
					begin := time.Now()
					var err error
					switch op {
					case "start":
						err = tb.Start(ctx, zerolog.Nop(), f.Deps())
					case "stop":
						err = tb.Stop(ctx, zerolog.Nop(), f.Deps())
					case "reannounce":
						err = tb.Reannounce(ctx, zerolog.Nop(), f.Deps())
					default:
						t.Fatalf("unknown op %q", op)
					}
					took := time.Since(begin)
					for _, l := range f.Take() {
						out.WriteString("\n" + l)
					}
					res := "ok"
					if err != nil {
						res = strings.ReplaceAll(err.Error(), "\n", "\n  ")
					}
					fmt.Fprintf(&out, "\n< %s after %v", res, took)
				}
				if got := out.String(); got != tt.want {
					t.Errorf("transcript:\ngot:%s\n\nwant:%s", got, tt.want)
				}
				// End the vip guards, which live until Stop, or the
				// bubble never empties.
				f.Release()
				tb.Stop(context.WithoutCancel(ctx), zerolog.Nop(), f.Deps())
			})
		})
	}
}

// background returns what an op that is not an executor call does to the
// fake (nil for the others): release hung calls, delete an address behind
// had's back ("delete DEV PREFIX", with the netlink event), make one vanish
// without an event ("vanish DEV PREFIX"), tell the watches that events
// were lost ("resync"), or make the next N operations LINE fail
// ("fail N LINE").
func background(f *tablestest.Fake, op string) func() {
	w := strings.Fields(op)
	switch {
	case op == "release":
		return f.Release
	case op == "resync":
		return f.Resync
	case len(w) == 3 && w[0] == "delete":
		return func() { f.DeleteBehind(w[1], pfx(w[2])) }
	case len(w) == 3 && w[0] == "vanish":
		return func() { f.RemoveAddr(w[1], pfx(w[2])) }
	case len(w) > 2 && w[0] == "fail":
		n, err := strconv.Atoi(w[1])
		if err != nil {
			panic(op)
		}
		return func() { f.Fail(strings.Join(w[2:], " "), n) }
	}
	return nil
}

// TestStepError checks what a caller can learn from a failed step.
func TestStepError(t *testing.T) {
	tb := mustParse(t, "vip 10.213.0.100/32 dev=eth0 garp_count=0\ncmd name=web start=x stop=y timeout=1s\n")
	f := tablestest.New()
	defer f.Release()
	f.Fail("run web start", -1)
	err := tb.Start(t.Context(), zerolog.Nop(), f.Deps())
	se, ok := errors.AsType[*tables.StepError](err)
	if !ok {
		t.Fatalf("got %v, want a *StepError", err)
	}
	want := tables.StepError{File: "t.table", Table: "t", Entry: "web", Kind: tables.KindCmd, Line: 2, Op: tables.OpStart}
	got := *se
	got.Err = nil
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if !errors.Is(err, tablestest.ErrInjected) {
		t.Errorf("got %v, want it to wrap ErrInjected", err)
	}
	if !f.HasAddr("eth0", pfx("10.213.0.100/32")) {
		t.Errorf("the entry before the failure was not left started")
	}
}

func TestMissingDeps(t *testing.T) {
	tests := []struct {
		table string
		deps  func(f *tablestest.Fake) tables.Deps
	}{
		{"vip 10.213.0.100/32 dev=eth0", func(f *tablestest.Fake) tables.Deps { return tables.Deps{Announcer: f, Runner: f} }},
		{"vip 10.213.0.100/32 dev=eth0", func(f *tablestest.Fake) tables.Deps { return tables.Deps{Addrs: f, Runner: f} }},
		{"cmd name=a start=x stop=y", func(f *tablestest.Fake) tables.Deps { return tables.Deps{Addrs: f, Announcer: f} }},
	}
	for _, tt := range tests {
		tb := mustParse(t, tt.table)
		tb.Policy.StopRetries = 0
		f := tablestest.New()
		if err := tb.Start(t.Context(), zerolog.Nop(), tt.deps(f)); !errors.Is(err, tables.ErrMissingDep) {
			t.Errorf("%s: Start: got %v, want ErrMissingDep", tt.table, err)
		}
	}
	// A vip without announcements needs no Announcer.
	tb := mustParse(t, "vip 10.213.0.100/32 dev=eth0 garp_count=0")
	f := tablestest.New()
	if err := tb.Start(t.Context(), zerolog.Nop(), tables.Deps{Addrs: f}); err != nil {
		t.Errorf("garp_count=0 without Announcer: got %v, want nil", err)
	}
}

// syncBuffer is a log destination shared with background goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		delete(m, "took") // the one field whose value varies
		out = append(out, m)
	}
	return out
}

// TestStepLog checks the one log line per step and its fixed vocabulary.
func TestStepLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := mustParse(t, "vip 10.213.0.100/32 dev=eth0 garp_count=1\ncmd name=web start=x stop=y\n")
		f := tablestest.New()
		f.Fail("run web stop", 1)
		var buf syncBuffer
		log := zerolog.New(&buf)
		if err := tb.Start(t.Context(), log, f.Deps()); err != nil {
			t.Fatal(err)
		}
		if err := tb.Stop(t.Context(), log, f.Deps()); err != nil {
			t.Fatal(err)
		}
		want := []string{
			`{"entry":"10.213.0.100","kind":"vip","level":"info","line":1,"message":"table step done","op":"start","table":"t"}`,
			`{"entry":"web","kind":"cmd","level":"info","line":2,"message":"table step done","op":"start","table":"t"}`,
			`{"entry":"web","error":"run stop: run web stop: tablestest: injected failure","kind":"cmd","level":"warn","line":2,"message":"table step failed","op":"stop","table":"t"}`,
			`{"attempt":2,"entry":"web","kind":"cmd","level":"info","line":2,"message":"table step done","op":"stop","table":"t"}`,
			`{"entry":"10.213.0.100","kind":"vip","level":"info","line":1,"message":"table step done","op":"stop","table":"t"}`,
		}
		got := buf.lines(t)
		if len(got) != len(want) {
			t.Fatalf("got %d lines %v, want %d", len(got), got, len(want))
		}
		for i := range got {
			b, _ := json.Marshal(got[i]) // sorted keys
			if string(b) != want[i] {
				t.Errorf("line %d:\ngot  %s\nwant %s", i, b, want[i])
			}
		}
	})
}

// TestStopCancelsRepeatsBeforeRelease checks that no announcement can
// follow the address's removal, even with a stop racing the repeats.
func TestStopCancelsRepeatsBeforeRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := mustParse(t, "vip 10.213.0.100/32 dev=eth0 garp_count=100 garp_interval=10ms\n")
		f := tablestest.New()
		for i := range 50 {
			if err := tb.Start(t.Context(), zerolog.Nop(), f.Deps()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(i) * time.Millisecond)
			if err := tb.Stop(t.Context(), zerolog.Nop(), f.Deps()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			log := f.Take()
			if last := log[len(log)-1]; !strings.HasPrefix(last, "addr del") {
				t.Fatalf("round %d: the last operation is %q, want the delete: %q", i, last, log)
			}
		}
	})
}

// TestRepeatsOutliveStartContext checks that cancelling Start's context once
// it returns (a common pattern) does not cut the announcements short.
func TestRepeatsOutliveStartContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := mustParse(t, "vip 10.213.0.100/32 dev=eth0 garp_count=3 garp_interval=500ms\n")
		f := tablestest.New()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		if err := tb.Start(ctx, zerolog.Nop(), f.Deps()); err != nil {
			t.Fatal(err)
		}
		cancel()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got, want := strings.Count(strings.Join(f.Log(), "\n"), "garp"), 3; got != want {
			t.Errorf("got %d announcements, want %d: %q", got, want, f.Log())
		}
		tb.Stop(t.Context(), zerolog.Nop(), f.Deps()) // ends the vip guard
	})
}
