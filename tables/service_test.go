package tables_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/tables"
	"github.com/hadcluster/had/tables/tablestest"
)

// commandLines formats what a fake was asked to run: "op: shell", then the
// environment an entry added, one variable a line.
func commandLines(cs []tables.Command) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Op + ": " + c.Shell + "\n")
		for _, e := range c.Env {
			b.WriteString("    " + e + "\n")
		}
	}
	return b.String()
}

// TestServiceCommands checks the exact command lines of both service forms
// (systemd cannot run here; the LSB form runs for real in
// service_linux_test.go).
func TestServiceCommands(t *testing.T) {
	tests := []struct {
		name, table string
		running     bool
		want        string
	}{
		{"systemd stopped", "service unit=nginx.service", false, `status: systemctl is-active --quiet nginx.service
start: systemctl start nginx.service
stop: systemctl stop nginx.service
status: systemctl is-active --quiet nginx.service
`},
		{"systemd running", "service unit=getty@tty1.service name=getty", true, `status: systemctl is-active --quiet getty@tty1.service
stop: systemctl stop getty@tty1.service
status: systemctl is-active --quiet getty@tty1.service
`},
		{"systemd escaped unit", `service unit='dev-disk-by\x2dlabel-data.mount' name=data`, false, `status: systemctl is-active --quiet 'dev-disk-by\x2dlabel-data.mount'
start: systemctl start 'dev-disk-by\x2dlabel-data.mount'
stop: systemctl stop 'dev-disk-by\x2dlabel-data.mount'
status: systemctl is-active --quiet 'dev-disk-by\x2dlabel-data.mount'
`},
		{"lsb", "service lsb=/etc/init.d/websvc", false, `status: /etc/init.d/websvc status
start: /etc/init.d/websvc start
stop: /etc/init.d/websvc stop
status: /etc/init.d/websvc status
`},
		{"lsb path with a blank", "service lsb='/opt/my app/init' name=app", false, `status: '/opt/my app/init' status
start: '/opt/my app/init' start
stop: '/opt/my app/init' stop
status: '/opt/my app/init' status
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := mustParse(t, tt.table)
			f := tablestest.New()
			f.SetRunning(tb.Entries[0].Name(), tt.running)
			if err := tb.Start(t.Context(), zerolog.Nop(), f.Deps()); err != nil {
				t.Fatal(err)
			}
			if err := tb.Stop(t.Context(), zerolog.Nop(), f.Deps()); err != nil {
				t.Fatal(err)
			}
			if got := commandLines(f.Commands()); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestOCFCommands checks the agent's path, the actions and the OCF
// environment.
func TestOCFCommands(t *testing.T) {
	tb := mustParse(t, `ocf agent=heartbeat:anything name=sleeper timeout=20s ocf_root=/opt/ocf binfile=/bin/sleep cmdline_options="30 'x'" reskey_name=n`)
	f := tablestest.New()
	if err := tb.Start(t.Context(), zerolog.Nop(), f.Deps()); err != nil {
		t.Fatal(err)
	}
	env := `    OCF_ROOT=/opt/ocf
    OCF_RA_VERSION_MAJOR=1
    OCF_RA_VERSION_MINOR=0
    OCF_RESOURCE_INSTANCE=sleeper
    OCF_RESOURCE_PROVIDER=heartbeat
    OCF_RESOURCE_TYPE=anything
    OCF_RESKEY_CRM_meta_timeout=20000
    OCF_RESKEY_binfile=/bin/sleep
    OCF_RESKEY_cmdline_options=30 'x'
    OCF_RESKEY_name=n
`
	want := "monitor: /opt/ocf/resource.d/heartbeat/anything monitor\n" + env +
		"start: /opt/ocf/resource.d/heartbeat/anything start\n" + env +
		"monitor: /opt/ocf/resource.d/heartbeat/anything monitor\n" + env
	if got := commandLines(f.Commands()); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestOCFMonitor checks the entry's Monitor, for agents.
func TestOCFMonitor(t *testing.T) {
	tb := mustParse(t, "ocf agent=heartbeat:Dummy name=d1")
	f := tablestest.New()
	if err := tb.Start(t.Context(), zerolog.Nop(), f.Deps()); err != nil {
		t.Fatal(err)
	}
	m := tb.Entries[0].(tables.Monitorer)
	tests := []struct {
		name    string
		setup   func()
		running bool
		err     string
	}{
		{"running", func() {}, true, ""},
		{"stopped", func() { f.SetRunning("d1", false) }, false, ""},
		{"degraded counts as running", func() { f.Exit("run d1 monitor", 190, 1) }, true, ""},
		{"not installed", func() { f.Exit("run d1 monitor", 5, 1) }, false, "monitor: OCF_ERR_INSTALLED: exit status 5"},
		{"not an OCF code", func() { f.Exit("run d1 monitor", 127, 1) }, false, "monitor: exit status 127"},
	}
	for _, tt := range tests {
		tt.setup()
		running, err := m.Monitor(context.Background())
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if running != tt.running || gotErr != tt.err {
			t.Errorf("%s: got %v, %q, want %v, %q", tt.name, running, gotErr, tt.running, tt.err)
		}
	}
}
