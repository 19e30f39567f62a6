package tablestest

import (
	"context"
	"errors"
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
