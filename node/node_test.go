package node

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/tables/tablestest"
)

// copyExamples puts deploy/examples in a temporary directory, with the key
// file made private as LoadKeyring demands.
func copyExamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := "../deploy/examples"
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(e.Name(), ".example")
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadExamples(t *testing.T) {
	dir := copyExamples(t)
	for _, f := range []string{"node1.toml", "node2.toml"} {
		n, err := Load(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if n.Config.BinDir == "" || n.Keyring == nil {
			t.Errorf("%s: bin dir %q keyring %v", f, n.Config.BinDir, n.Keyring)
		}
		if (n.Recover != nil) != n.Config.OwnGroup() || (n.Takeover != nil) != n.Config.PeerGroup() {
			t.Errorf("%s: tables %v %v do not match the groups", f, n.Recover, n.Takeover)
		}
	}
}

// Every problem of every file is reported at once: a bad key file and a
// bad table together.
func TestLoadReportsAllFiles(t *testing.T) {
	dir := copyExamples(t)
	if err := os.WriteFile(filepath.Join(dir, "authkeys"), []byte("active 9\nkey 1 short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "recover.table"), []byte("vip 10.0.0.1/32\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(filepath.Join(dir, "node1.toml"))
	if err == nil {
		t.Fatal("Load succeeded with a bad key file and a bad table")
	}
	for _, want := range []string{filepath.Join(dir, "authkeys") + ":1:", filepath.Join(dir, "authkeys") + ":2:", filepath.Join(dir, "recover.table") + ":1:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestReconcileRemovesHeldAddresses(t *testing.T) {
	dir := copyExamples(t)
	n, err := Load(filepath.Join(dir, "node1.toml"))
	if err != nil {
		t.Fatal(err)
	}
	f := tablestest.New()
	vip := n.Recover.VIPs()[0]
	f.SetAddr(vip.Dev, vip.Prefix, vip.Label)
	f.SetAddr(vip.Dev, netip.MustParsePrefix("10.213.0.1/24"), "") // the node's own address stays
	if err := n.Reconcile(zerolog.Nop(), f); err != nil {
		t.Fatal(err)
	}
	if f.HasAddr(vip.Dev, vip.Prefix) {
		t.Errorf("%v still on %s after reconciliation", vip.Prefix, vip.Dev)
	}
	if !f.HasAddr(vip.Dev, netip.MustParsePrefix("10.213.0.1/24")) {
		t.Error("reconciliation removed an address that is not a VIP")
	}
}
