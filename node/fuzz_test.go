package node

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/fileerr"
)

// FuzzLoad: a node's four files (configuration, key file, RECOVER and
// TAKEOVER tables) and the key file's mode, as an operator may get them
// wrong. Load never panics and is all or nothing: either a whole node
// whose keys sign and whose tables match its groups, or no node and an
// error made only of "file:line: …" problems, each naming a file and a line
// within it. Only a problem of a whole file may lack the line: a required
// key or entry that is missing (the error names it), or the file's mode,
// owner, kind or size. A key file that group or others can read never
// loads.
func FuzzLoad(f *testing.F) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "deploy", "examples", name))
		if err != nil {
			f.Fatal(err)
		}
		return string(b)
	}
	node1, node2, keys := read("node1.toml"), read("node2.toml"), read("authkeys.example")
	rec, tko := read("recover.table"), read("takeover.table")
	const private = 0
	f.Add(node1, keys, rec, tko, uint8(private))                                                    // the shipped primary
	f.Add(node2, keys, rec, tko, uint8(private))                                                    // the shipped backup
	f.Add(node1, keys, rec, tko, uint8(0x80|0o044))                                                 // key file mode 0644
	f.Add(node1, "active 3\nkey 1 short\nkey 1 hex:zz\n", rec, tko, uint8(private))                 // every key line wrong
	f.Add(node1, keys, "vip 10.0.0.1/32\nfrobnicate\ncmd name=x start=\"unclosed\n", tko, uint8(0)) // a bad table
	f.Add(strings.Replace(node1, "node_id = 1", "node_id = 3", 1), "", "", "", uint8(0x80|0o007))   // bad everything
	f.Add(strings.Replace(node1, `key_file = "authkeys"`, `key_file = "recover.table"`, 1), keys, rec, tko, uint8(private))
	f.Add(strings.Replace(node1, `"authkeys"`, `"."`, 1), keys, rec, tko, uint8(private)) // a directory as the key file
	f.Add("cluster_id = 1\n[[udp]]\nlocal = \"x\"\n[timers]\ninterval = \"-1s\"\n", keys, rec, tko, uint8(private))

	dir := f.TempDir()
	cfg := filepath.Join(dir, "node1.toml")
	f.Fuzz(func(t *testing.T, config, keyfile, recoverTable, takeoverTable string, mode uint8) {
		perm := fs.FileMode(0o600)
		if mode&0x80 != 0 {
			perm |= fs.FileMode(mode) & 0o077
		}
		for name, text := range map[string]string{"node1.toml": config, "authkeys": keyfile,
			"recover.table": recoverTable, "takeover.table": takeoverTable} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, map[bool]fs.FileMode{true: perm, false: 0o600}[name == "authkeys"]); err != nil {
				t.Fatal(err)
			}
		}
		n, err := Load(cfg)
		if (n == nil) == (err == nil) {
			t.Fatalf("got node %v and error %v, want exactly one", n != nil, err)
		}
		if err != nil {
			for _, e := range leaves(err) {
				checkFileError(t, e)
			}
			return
		}
		if keyFile := n.Config.KeyFile; filepath.Clean(keyFile) == filepath.Join(dir, "authkeys") && perm&0o077 != 0 {
			t.Fatalf("loaded with the key file at mode %04o", perm)
		}
		if _, ok := n.Keyring.Keys[n.Keyring.Active]; !ok {
			t.Fatalf("active key %d is not in the keyring", n.Keyring.Active)
		}
		if _, err := wire.NewCodec(n.Keyring); err != nil {
			t.Fatalf("the keyring does not make a codec: %v", err)
		}
		if (n.Recover != nil) != n.Config.OwnGroup() || (n.Takeover != nil) != n.Config.PeerGroup() {
			t.Fatalf("tables %v %v for own group %v, peer group %v", n.Recover != nil, n.Takeover != nil,
				n.Config.OwnGroup(), n.Config.PeerGroup())
		}
	})
}

// leaves flattens Load's error: errors.Join of each file's Errors.
func leaves(err error) []error {
	if es, ok := err.(fileerr.Errors); ok {
		out := make([]error, len(es))
		for i := range es {
			out[i] = es[i]
		}
		return out
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// checkFileError fails unless e is a fileerr.Error naming a file and a
// line within it, or a problem of the whole file.
func checkFileError(t *testing.T, e error) {
	t.Helper()
	fe, ok := e.(fileerr.Error)
	if !ok {
		t.Fatalf("got %T %q, want a file:line error", e, e)
	}
	if fe.File == "" || fe.Msg == "" {
		t.Fatalf("got %+v, want a file and a message", fe)
	}
	if fe.Line == 0 {
		whole := fe.Field != ""
		for _, p := range []string{"mode ", "owned by uid", "not a regular file", "larger than"} {
			whole = whole || strings.HasPrefix(fe.Msg, p)
		}
		if !whole {
			t.Fatalf("%q: no line, and not a problem of the whole file", fe)
		}
		return
	}
	b, err := os.ReadFile(fe.File)
	if err != nil {
		t.Fatalf("%q names a file that cannot be read: %v", fe, err)
	}
	if lines := strings.Count(string(b), "\n") + 1; fe.Line < 1 || fe.Line > lines {
		t.Fatalf("%q: line %d, but %s has %d lines", fe, fe.Line, fe.File, lines)
	}
}
