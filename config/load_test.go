package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeTree writes files (name → contents) under a new temporary directory
// and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadResolvesAgainstTheConfigDirectory(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"etc/had.toml":       doc(map[string]string{"bin_dir": `"../bin"`}, ""),
		"etc/authkeys":       "",
		"etc/recover.table":  "",
		"bin/had2":           "",
		"elsewhere/authkeys": "",
	})
	want := []string{filepath.Join(dir, "etc/authkeys"), filepath.Join(dir, "etc/recover.table"), filepath.Join(dir, "bin")}

	cfg, err := Load(filepath.Join(dir, "etc/had.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{cfg.KeyFile, cfg.RecoverTable, cfg.BinDir}; !reflect.DeepEqual(got, want) {
		t.Errorf("absolute config path: got %q, want %q", got, want)
	}

	// A relative config path: still resolved against its directory, not
	// the working directory, and made absolute.
	t.Chdir(filepath.Join(dir, "elsewhere"))
	cfg, err = Load("../etc/had.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{cfg.KeyFile, cfg.RecoverTable, cfg.BinDir}; !reflect.DeepEqual(got, want) {
		t.Errorf("relative config path: got %q, want %q", got, want)
	}
	if cfg.File != "../etc/had.toml" {
		t.Errorf("got File %q, want the path as given", cfg.File)
	}
}

func TestLoadChecksNamedFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"had.toml": "cluster_id = 1\nnode_id = 2\nmode = \"symmetric\"\n" +
			"key_file = \"authkeys\"\n" + // line 4: missing
			"recover_table = \"tables\"\n" + // line 5: a directory
			"takeover_table = \"takeover.table\"\n" + // fine
			"bin_dir = \"takeover.table\"\n" + // line 7: a file
			"[[serial]]\ndevice = \"/dev/does-not-exist\"\n", // not checked
		"tables/x":       "",
		"takeover.table": "",
	})
	path := filepath.Join(dir, "had.toml")
	cfg, err := Load(path)
	if cfg != nil {
		t.Errorf("got a Config, want nil")
	}
	es := asErrors(t, err)
	type got struct {
		line  int
		field string
	}
	var gots []got
	for _, e := range es {
		if e.File != path {
			t.Errorf("got file %q, want %q", e.File, path)
		}
		gots = append(gots, got{e.Line, e.Field})
	}
	want := []got{{4, "key_file"}, {5, "recover_table"}, {7, "bin_dir"}}
	if !reflect.DeepEqual(gots, want) {
		t.Errorf("got %v, want %v:\n%v", gots, want, err)
	}
	for i, part := range []string{"does not exist", "not a regular file", "not a directory"} {
		if !strings.Contains(es[i].Msg, part) {
			t.Errorf("error %d: got %q, want it to contain %q", i, es[i].Msg, part)
		}
	}
}

func TestLoadReportsFileAndRuleErrorsTogether(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"had.toml": doc(map[string]string{"cluster_id": "0"}, ""),
	})
	_, err := Load(filepath.Join(dir, "had.toml"))
	es := asErrors(t, err)
	var fields []string
	for _, e := range es {
		fields = append(fields, e.Field)
	}
	if want := []string{"cluster_id", "key_file", "recover_table"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("got %v, want %v:\n%v", fields, want, err)
	}
}

func TestLoadSyntaxError(t *testing.T) {
	dir := writeTree(t, map[string]string{"had.toml": "cluster_id = 1\n[timers\n"})
	_, err := Load(filepath.Join(dir, "had.toml"))
	es := asErrors(t, err)
	if len(es) != 1 || es[0].Line != 2 {
		t.Errorf("got %v, want one error on line 2", err)
	}
}

func TestLoadUnreadable(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want fs.ErrNotExist", err)
	}
	// The wrong file named on the command line must fail, not hang.
	_, err = Load("/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v, want a size error", err)
	}
}

// TestExamples loads the shipped example configurations, with the example
// key file copied and chmod 600 and empty stand-ins for the tables (their
// contents are package tables' business).
func TestExamples(t *testing.T) {
	src := filepath.Join("..", "deploy", "examples")
	keys, err := os.ReadFile(filepath.Join(src, "authkeys.example"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"node1.toml", "node2.toml"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				t.Fatal(err)
			}
			dir := writeTree(t, map[string]string{
				name:             string(data),
				"authkeys":       string(keys),
				"recover.table":  "",
				"takeover.table": "",
			})
			cfg, err := Load(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("got\n%v\nwant no error", err)
			}
			if len(cfg.UDP) != 1 || len(cfg.Serial) != 1 || cfg.Mode != Asymmetric {
				t.Errorf("got %d udp, %d serial paths, mode %s; want 1, 1, asymmetric", len(cfg.UDP), len(cfg.Serial), cfg.Mode)
			}
			kr, err := LoadKeyring(cfg.KeyFile)
			if err != nil {
				t.Fatalf("got\n%v\nwant no error", err)
			}
			if kr.Active != 1 || len(kr.Keys) != 2 {
				t.Errorf("got active %d and %d keys, want 1 and 2", kr.Active, len(kr.Keys))
			}
		})
	}
}

// TestExamplesAgree checks what both nodes must agree on, and that each
// node's peer address is the other's local one.
func TestExamplesAgree(t *testing.T) {
	var cfgs [2]*Config
	for i, name := range []string{"node1.toml", "node2.toml"} {
		p := filepath.Join("..", "deploy", "examples", name)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if cfgs[i], err = Parse(p, data); err != nil {
			t.Fatal(err)
		}
	}
	a, b := cfgs[0], cfgs[1]
	if a.ClusterID != b.ClusterID || a.Mode != b.Mode || a.Primary != b.Primary || a.Timers != b.Timers {
		t.Errorf("cluster settings differ: %+v vs %+v", a, b)
	}
	if a.NodeID != 1 || b.NodeID != 2 || a.NodeName != b.PeerName || b.NodeName != a.PeerName {
		t.Errorf("identities do not mirror: %d %q/%q vs %d %q/%q", a.NodeID, a.NodeName, a.PeerName, b.NodeID, b.NodeName, b.PeerName)
	}
	if a.UDP[0].Peer != b.UDP[0].Local || b.UDP[0].Peer != a.UDP[0].Local {
		t.Errorf("udp addresses do not mirror: %+v vs %+v", a.UDP[0], b.UDP[0])
	}
}
