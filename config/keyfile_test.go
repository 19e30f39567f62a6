package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hadcluster/had/comm/wire"
)

const (
	secret16 = "0123456789abcdef"                                    // raw, exactly 16 bytes
	secretHx = "hex:000102030405060708090a0b0c0d0e0f"                // 16 bytes
	secretB6 = "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes
)

func TestParseKeyring(t *testing.T) {
	src := "# had key file\n\n  active 2  \r\nkey 1 " + secret16 + "\nkey 2 " + secretHx + "\n\tkey 255 " + secretB6 + "\nkey 7 base64:AAECAwQFBgcICQoLDA0ODw\n# end\n"
	kr, err := ParseKeyring("authkeys", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	want := &wire.Keyring{Active: 2, Keys: map[uint8][]byte{1: []byte(secret16), 2: seq(16), 255: seq(32), 7: seq(16)}}
	if !reflect.DeepEqual(kr, want) {
		t.Errorf("got %+v, want %+v", kr, want)
	}
	if _, err := wire.NewCodec(kr); err != nil {
		t.Errorf("wire.NewCodec: got %v, want nil", err)
	}
}

func TestKeyfileRules(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		field     string
		msg       string
	}{
		{"unknown keyword", "active 1\nkey 1 " + secret16 + "\nauth 1\n", 3, "", "must start with"},
		{"heartbeat style line", "active 1\nkey 1 " + secret16 + "\n1 sha1 " + secret16 + "\n", 3, "", "must start with"},
		{"active without id", "active\nkey 1 " + secret16 + "\n", 1, "active", "want \"active <id>\""},
		{"active with two ids", "active 1 2\nkey 1 " + secret16 + "\n", 1, "active", "want \"active <id>\""},
		{"active id not a number", "active one\nkey 1 " + secret16 + "\n", 1, "active", "not a key id"},
		{"active twice", "active 1\nkey 1 " + secret16 + "\nactive 1\n", 3, "active", "already set on line 1"},
		{"active names a missing key", "active 3\nkey 1 " + secret16 + "\n", 1, "active", "key 3 is not defined"},
		{"active missing", "key 1 " + secret16 + "\n", 0, "active", "missing"},
		{"no keys", "# nothing\nactive 1\n", 0, "key", "no keys"},
		{"empty file", "", 0, "key", "no keys"},
		{"key without secret", "active 1\nkey 1\n", 2, "key 1", "no secret"},
		{"key without id", "active 1\nkey 1 " + secret16 + "\nkey\n", 3, "key", "want \"key <id> <secret>\""},
		{"key id 0", "active 1\nkey 1 " + secret16 + "\nkey 0 " + secret16 + "\n", 3, "key", "not a key id"},
		{"key id 256", "active 1\nkey 1 " + secret16 + "\nkey 256 " + secret16 + "\n", 3, "key", "not a key id"},
		{"key id negative", "active 1\nkey 1 " + secret16 + "\nkey -1 " + secret16 + "\n", 3, "key", "not a key id"},
		{"key twice", "active 1\nkey 1 " + secret16 + "\nkey 1 " + secretHx + "\n", 3, "key 1", "already defined on line 2"},
		{"text after the secret", "active 1\nkey 1 " + secret16 + " # the key\n", 2, "key 1", "text after the secret"},
		{"raw secret short", "active 1\nkey 1 0123456789abcde\n", 2, "key 1", "15 bytes, want at least 16"},
		{"hex secret short", "active 1\nkey 1 hex:000102030405060708090a0b0c0d0e\n", 2, "key 1", "15 bytes"},
		{"hex secret bad", "active 1\nkey 1 hex:zz0102030405060708090a0b0c0d0e0f\n", 2, "key 1", "not valid hex"},
		{"base64 secret bad", "active 1\nkey 1 base64:!!!!AAECAwQFBgcICQoLDA0ODw==\n", 2, "key 1", "not valid base64"},
		{"base64 secret short", "active 1\nkey 1 base64:AAECAwQFBgcICQoLDA0O\n", 2, "key 1", "15 bytes"},
		{"empty hex secret", "active 1\nkey 1 hex:\n", 2, "key 1", "0 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := ParseKeyring("authkeys", []byte(tc.src))
			if err == nil {
				t.Fatalf("got keyring %+v, want an error", kr)
			}
			es := asErrors(t, err)
			if len(es) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(es), err)
			}
			e := es[0]
			if e.File != "authkeys" || e.Line != tc.line || e.Field != tc.field {
				t.Errorf("got %s:%d field %q, want authkeys:%d field %q (%v)", e.File, e.Line, e.Field, tc.line, tc.field, e)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got message %q, want it to contain %q", e.Msg, tc.msg)
			}
		})
	}
}

func TestKeyfileEveryError(t *testing.T) {
	src := "active 9\nkey 1 short\nbogus\nkey 1 " + secret16 + "\nkey 300 " + secret16 + "\n"
	_, err := ParseKeyring("k", []byte(src))
	es := asErrors(t, err)
	var got []int
	for _, e := range es {
		got = append(got, e.Line)
	}
	if want := []int{1, 2, 3, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("got lines %v, want %v:\n%v", got, want, err)
	}
}

func TestKeyfileNeverQuotesSecrets(t *testing.T) {
	const s = "S3CRETS3CRETS3CRET"
	srcs := []string{
		"active 1\nkey 1 " + s + " trailing\n",
		"active 1\n" + s + "\n",
		"active 1\nkey 1 hex:" + s + "\n",
		"active 1\nkey 1 base64:" + s + "!\n",
		"active 1\nkey 1 " + s[:10] + "\n",
	}
	for _, src := range srcs {
		_, err := ParseKeyring("k", []byte(src))
		if err == nil || strings.Contains(err.Error(), s[:10]) {
			t.Errorf("got %v, want an error without the secret", err)
		}
	}
}

func writeKeyfile(t *testing.T, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "authkeys")
	if err := os.WriteFile(p, []byte("active 1\nkey 1 "+secret16+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Chmod after writing: the umask would otherwise mask the mode.
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadKeyringMode(t *testing.T) {
	cases := []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o700, true},
		{0o640, false},
		{0o604, false},
		{0o620, false},
		{0o602, false},
		{0o610, false},
		{0o644, false},
		{0o666, false},
	}
	for _, tc := range cases {
		p := writeKeyfile(t, tc.mode)
		kr, err := LoadKeyring(p)
		if tc.ok {
			if err != nil || kr == nil || kr.Active != 1 {
				t.Errorf("mode %04o: got %+v, %v; want the keyring", tc.mode, kr, err)
			}
			continue
		}
		if kr != nil {
			t.Errorf("mode %04o: got a keyring, want nil", tc.mode)
		}
		es := asErrors(t, err)
		if len(es) != 1 || es[0].File != p || !strings.Contains(es[0].Msg, fmt.Sprintf("mode %04o", tc.mode)) || !strings.Contains(es[0].Msg, "chmod 600") {
			t.Errorf("mode %04o: got %v, want one error naming the file, the mode and chmod 600", tc.mode, err)
		}
	}
}

func TestLoadKeyringModeAndContentErrorsTogether(t *testing.T) {
	p := filepath.Join(t.TempDir(), "authkeys")
	if err := os.WriteFile(p, []byte("active 1\nkey 1 short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadKeyring(p)
	es := asErrors(t, err)
	if len(es) != 2 || es[0].Line != 0 || es[1].Line != 2 {
		t.Errorf("got %v, want the mode error and the line 2 error", err)
	}
}

// A key file's owner can read and rewrite it whatever its mode: only
// root and the user reading it may own it.
func TestLoadKeyringOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	for _, tc := range []struct {
		uid int
		ok  bool
	}{{0, true}, {65534, false}, {1, false}} {
		p := writeKeyfile(t, 0o600)
		if err := os.Chown(p, tc.uid, 0); err != nil {
			t.Fatal(err)
		}
		kr, err := LoadKeyring(p)
		if tc.ok {
			if err != nil || kr == nil {
				t.Errorf("owner %d: got %v, want the keyring", tc.uid, err)
			}
			continue
		}
		es := asErrors(t, err)
		if len(es) != 1 || es[0].File != p || !strings.Contains(es[0].Msg, fmt.Sprintf("owned by uid %d", tc.uid)) {
			t.Errorf("owner %d: got %v, want one error naming the file and the owner", tc.uid, err)
		}
	}
}

func TestLoadKeyringNotAFile(t *testing.T) {
	if _, err := LoadKeyring(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	es := asErrors(t, mustErr(LoadKeyring(dir)))
	if es[0].File != dir || !strings.Contains(es[0].Msg, "not a regular file") {
		t.Errorf("directory: got %v, want not a regular file", es)
	}
}

func mustErr(_ *wire.Keyring, err error) error { return err }

func TestLoadKeyringTooBig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "authkeys")
	big := bytes.Repeat([]byte("# comment line\n"), maxFileSize/15+1)
	if err := os.WriteFile(p, big, 0o600); err != nil {
		t.Fatal(err)
	}
	es := asErrors(t, mustErr(LoadKeyring(p)))
	if !strings.Contains(es[0].Msg, "larger than") {
		t.Errorf("got %v, want a size error", es)
	}
}
