package deploy

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadcluster/had/config"
)

// programs are the had binaries `make install` installs.
var programs = []string{"had1", "had2", "had-sender", "had-receiver", "had-admin", "had-agent", "had-tee", "hactl"}

// install runs `make install DESTDIR=dest` in the module root, without
// rebuilding (-o build): the test checks the layout, not the build.
func install(t *testing.T, dest string) string {
	t.Helper()
	out, err := exec.Command("make", "-s", "-C", "..", "-o", "build", "install", "DESTDIR="+dest).CombinedOutput()
	if err != nil {
		t.Fatalf("make install DESTDIR=%s: %v\n%s", dest, err, out)
	}
	return string(out)
}

func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	for _, p := range programs {
		if _, err := os.Stat(filepath.Join("..", "bin", p)); err != nil {
			t.Skipf("the binaries are not built (make build): %v", err)
		}
	}
	dest := t.TempDir()
	out := install(t, dest)
	if !strings.Contains(out, "authkeys: copy it to the peer") {
		t.Errorf("make install did not say a key file was generated:\n%s", out)
	}
	want := map[string]os.FileMode{
		"etc/had/had.toml":                       0o644,
		"etc/had/recover.table":                  0o644,
		"etc/had/takeover.table":                 0o644,
		"etc/had/authkeys":                       0o600,
		"etc/init.d/had":                         0o755,
		"etc/default/had":                        0o644,
		"lib/systemd/system/had.service":         0o644,
		"usr/share/doc/had/README.md":            0o644,
		"usr/share/doc/had/examples/node2.toml":  0o644,
		"usr/share/doc/had/examples/kinds.table": 0o644,
	}
	for _, p := range programs {
		want["usr/sbin/"+p] = 0o755
	}
	for _, p := range []string{"echod", "haddemo", "hadbench"} {
		if _, err := os.Stat(filepath.Join(dest, "usr/sbin", p)); err == nil {
			t.Errorf("test program %s installed", p)
		}
	}
	for path, mode := range want {
		fi, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if got := fi.Mode(); got != mode {
			t.Errorf("%s: mode %v, want %v", path, got, mode)
		}
	}

	// The key file: a fresh 32-byte secret that had accepts (it checks the
	// mode too).
	keyPath := filepath.Join(dest, "etc/had/authkeys")
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	var secret []byte
	for _, l := range strings.Split(string(key), "\n") {
		if s, ok := strings.CutPrefix(l, "key 1 base64:"); ok {
			secret, err = base64.StdEncoding.DecodeString(s)
		}
	}
	if len(secret) != 32 || err != nil {
		t.Errorf("key file: secret of %d bytes (%v), want 32 random bytes:\n%s", len(secret), err, key)
	}
	if _, err := config.LoadKeyring(keyPath); err != nil {
		t.Errorf("installed key file refused: %v", err)
	}

	// The installed had1 accepts the installed configuration as it is.
	had1 := filepath.Join(dest, "usr/sbin/had1")
	if out, err := exec.Command(had1, "--check", "--config", filepath.Join(dest, "etc/had/had.toml")).CombinedOutput(); err != nil {
		t.Errorf("had1 --check of the installed configuration: %v\n%s", err, out)
	}
	for _, f := range []struct{ path, text string }{
		{"lib/systemd/system/had.service", "ExecStart=/usr/sbin/had1 --config /etc/had/had.toml"},
		{"lib/systemd/system/had.service", "Type=notify"},
		{"etc/init.d/had", "CONFIG=/etc/had/had.toml"},
	} {
		b, err := os.ReadFile(filepath.Join(dest, f.path))
		if err != nil || !strings.Contains(string(b), f.text) {
			t.Errorf("%s does not say %q (%v)", f.path, f.text, err)
		}
	}

	// A second install keeps what the operator has: configuration and key.
	edited := []byte("# the operator's own\n")
	if err := os.WriteFile(filepath.Join(dest, "etc/had/had.toml"), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := install(t, dest); strings.Contains(out, "generated") {
		t.Errorf("second install generated a key again:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "etc/had/had.toml")); string(b) != string(edited) {
		t.Errorf("second install overwrote had.toml: %q", b)
	}
	if b, _ := os.ReadFile(keyPath); string(b) != string(key) {
		t.Error("second install replaced the key file")
	}
}
