package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Build compiles the main packages pkgs ("./e2e/cmd/echod",
// "./had1/cmd/had1", or full import paths) of this module into dir and
// returns the binaries' paths in the same order (dir/<last path element>).
// It runs `go build` from the module root, so it works from any test's
// working directory.
func Build(dir string, pkgs ...string) ([]string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("find module root: %w", err)
	}
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		return nil, fmt.Errorf("find module root: not inside the had module")
	}
	root := filepath.Dir(mod)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make bin dir: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve bin dir: %w", err)
	}
	// -o DIR with a trailing slash: every package becomes DIR/<name>.
	cmd := exec.Command("go", append([]string{"build", "-o", abs + "/"}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %w: %s", strings.Join(pkgs, " "), err, out)
	}
	bins := make([]string, len(pkgs))
	for i, p := range pkgs {
		bins[i] = filepath.Join(abs, path.Base(p))
	}
	return bins, nil
}
