package tablestest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hadcluster/had/tables"
)

func TestFake(t *testing.T) {
	f := New()
	p := netip.MustParsePrefix("10.213.0.100/32")
	f.Fail("addr del 10.213.0.100/32 dev eth0", 1)
	steps := []struct {
		name string
		err  error
		got  error
	}{
		{"add", nil, f.Add("eth0", p, "eth0:ha")},
		{"del fails once", ErrInjected, f.Del("eth0", p)},
		{"del", nil, f.Del("eth0", p)},
		{"del again", nil, f.Del("eth0", p)},
		{"garp", nil, f.Announce("eth0", p.Addr())},
		{"status of a stopped entry", &tables.ExitError{}, f.Run(t.Context(), tables.Command{Name: "web", Op: "status"})},
		{"start", nil, f.Run(t.Context(), tables.Command{Name: "web", Op: "start"})},
		{"status of a running entry", nil, f.Run(t.Context(), tables.Command{Name: "web", Op: "status"})},
	}
	for _, s := range steps {
		var ee *tables.ExitError
		switch {
		case s.err == nil && s.got != nil,
			errors.Is(s.err, ErrInjected) && !errors.Is(s.got, ErrInjected),
			errors.As(s.err, &ee) && !errors.As(s.got, &ee):
			t.Errorf("%s: got %v, want %v", s.name, s.got, s.err)
		}
	}
	want := []string{
		"addr add 10.213.0.100/32 dev eth0 label eth0:ha",
		"addr del 10.213.0.100/32 dev eth0 [fail]",
		"addr del 10.213.0.100/32 dev eth0",
		"addr del 10.213.0.100/32 dev eth0",
		"garp 10.213.0.100 dev eth0",
		"run web status",
		"run web start",
		"run web status",
	}
	if got := f.Take(); !slices.Equal(got, want) {
		t.Errorf("log:\ngot  %q\nwant %q", got, want)
	}
	if len(f.Log()) != 0 {
		t.Errorf("Take did not clear the log")
	}
	if f.HasAddr("eth0", p) || !f.Running("web") {
		t.Errorf("state: got addr %v, running %v, want false, true", f.HasAddr("eth0", p), f.Running("web"))
	}
}

func TestFakeHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := New()
		f.Hang("run web start", 1)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		begin := time.Now()
		err := f.Run(ctx, tables.Command{Name: "web", Op: "start"})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(begin) != time.Second {
			t.Errorf("hung run: got %v after %v, want a deadline error after 1s", err, time.Since(begin))
		}
		f.Hang("garp 10.213.0.100 dev eth0", -1)
		done := make(chan error)
		go func() { done <- f.Announce("eth0", netip.MustParseAddr("10.213.0.100")) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("hung announce returned %v before Release", err)
		default:
		}
		f.Release()
		if err := <-done; err != nil {
			t.Errorf("released announce: got %v, want nil", err)
		}
	})
}

func TestFakeWatch(t *testing.T) {
	f := New()
	p4, p6 := netip.MustParsePrefix("10.213.0.100/32"), netip.MustParsePrefix("2001:db8::100/128")
	var got []string
	record := func(name string) func(error) {
		return func(lost error) { got = append(got, fmt.Sprint(name, " ", lost)) }
	}
	cancel4, err := f.Watch("eth0", p4, record("v4"))
	if err != nil {
		t.Fatal(err)
	}
	cancel6, err := f.Watch("eth0", p6, record("v6"))
	if err != nil {
		t.Fatal(err)
	}
	f.Add("eth0", p4, "eth0:ha")
	f.Add("eth0", p6, "")
	f.Announce("eth0", p6.Addr())
	f.DeleteBehind("eth0", p4)
	f.DeleteBehind("eth1", p6) // another device: no call
	f.Resync()
	cancel4()
	cancel4()
	f.DeleteBehind("eth0", p4)
	f.DeleteBehind("eth0", p6)
	cancel6()
	slices.Sort(got[1:3]) // Resync calls in map order
	want := []string{"v4 <nil>", "v4 tablestest: events lost", "v6 tablestest: events lost", "v6 <nil>"}
	if !slices.Equal(got, want) {
		t.Errorf("calls:\ngot  %q\nwant %q", got, want)
	}
	wantLog := []string{
		"watch 10.213.0.100/32 dev eth0",
		"watch 2001:db8::100/128 dev eth0",
		"addr add 10.213.0.100/32 dev eth0 label eth0:ha",
		"addr add 2001:db8::100/128 dev eth0",
		"na 2001:db8::100 dev eth0",
		"unwatch 10.213.0.100/32 dev eth0",
		"unwatch 2001:db8::100/128 dev eth0",
	}
	if log := f.Take(); !slices.Equal(log, wantLog) {
		t.Errorf("log:\ngot  %q\nwant %q", log, wantLog)
	}
	if f.HasAddr("eth0", p4) || f.HasAddr("eth0", p6) || f.Watching() != 0 {
		t.Errorf("after deletions and cancels: %v %v %d", f.HasAddr("eth0", p4), f.HasAddr("eth0", p6), f.Watching())
	}
}

func TestFakeExitAndCommands(t *testing.T) {
	f := New()
	f.Exit("run d1 monitor", 5, 1)
	c := tables.Command{Name: "d1", Op: "monitor", Shell: "/x monitor", Env: []string{"A=b"}}
	err := f.Run(t.Context(), c)
	if ee, ok := errors.AsType[*tables.ExitError](err); !ok || ee.Code != 5 {
		t.Errorf("first monitor: got %v, want exit 5", err)
	}
	err = f.Run(t.Context(), c)
	if ee, ok := errors.AsType[*tables.ExitError](err); !ok || ee.Code != 7 {
		t.Errorf("monitor of a stopped entry: got %v, want exit 7", err)
	}
	if got := f.Take(); !slices.Equal(got, []string{"run d1 monitor [exit 5]", "run d1 monitor"}) {
		t.Errorf("log: got %q", got)
	}
	if got := f.Commands(); len(got) != 2 || !slices.Equal(got[0].Env, c.Env) || got[1].Shell != c.Shell {
		t.Errorf("commands: got %+v", got)
	}
	if got := f.Commands(); len(got) != 0 {
		t.Errorf("Commands did not forget: %+v", got)
	}
}
