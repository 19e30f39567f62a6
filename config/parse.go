package config

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Parse reads one node's configuration from data, which was read from the
// file named path. It checks everything that can be checked without looking
// at other files, and returns either a whole, valid Config or every problem
// found as Errors, in line order. Relative paths in the file are resolved
// against the directory of path (so they stay relative when path is; Load
// makes them absolute). Parse does no IO.
func Parse(path string, data []byte) (*Config, error) {
	cfg, _, err := parse(path, filepath.Dir(path), data)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// parse is Parse with the directory for relative paths given apart (Load
// passes an absolute one). It returns what it could read even when there
// are problems, so that Load can check the files it names as well.
func parse(name, dir string, data []byte) (*Config, *collector, error) {
	c := &collector{file: name}
	lines, serr := scanKeys(data)
	if serr != nil {
		c.addLine(serr.line, "", "%s", syntaxMsg(serr.msg))
		return nil, c, c.result()
	}
	c.lines = lines

	var f tomlFile
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&f)
	var strict *toml.StrictMissingError
	var derr *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		// Every unknown key is listed; the rest of the document was decoded,
		// so carry on and report the other problems too.
		for i := range strict.Errors {
			e := &strict.Errors[i]
			line, col := e.Position()
			what := "unknown key"
			if strings.Contains(e.Error(), "table") {
				what = "unknown table"
			}
			c.addLine(line, c.fieldAt(line, col, e.Key()), "%s", what)
		}
	case errors.As(err, &derr):
		// A structural problem (a key defined twice, a table where a value
		// belongs): the decoder stops here, and so must we.
		line, col := derr.Position()
		field, msg := decodeMsg(c.fieldAt(line, col, derr.Key()), syntaxMsg(derr.Error()))
		c.addLine(line, field, "%s", msg)
		return nil, c, c.result()
	case err != nil:
		c.addLine(0, "", "%s", syntaxMsg(err.Error()))
		return nil, c, c.result()
	}

	r := &reader{c: c, dir: dir, bad: map[string]bool{}}
	cfg := r.read(&f)
	r.validate(cfg)
	if err := c.result(); err != nil {
		return cfg, c, err
	}
	return cfg, c, nil
}

// fieldAt names the key go-toml reported at line:col by its full path
// ("udp[1].bogus"), which go-toml's own key lacks the array index of.
func (c *collector) fieldAt(line, col int, key toml.Key) string {
	if p, ok := c.lines.byPos[pos{line, col}]; ok {
		return p
	}
	return strings.Join(key, ".")
}

// decodeMsg rewrites go-toml's type errors about tables, which name our
// private Go types, in the file's own terms.
func decodeMsg(field, msg string) (string, string) {
	if strings.HasPrefix(msg, "cannot store an array table") {
		field = strings.TrimSuffix(field, "[0]")
		return field, fmt.Sprintf("want a table [%s], not an array of tables [[%s]]", field, field)
	}
	var got string
	if _, err := fmt.Sscanf(msg, "cannot decode TOML %s", &got); err != nil {
		return field, msg
	}
	if rest := strings.TrimPrefix(msg, "cannot decode TOML "+got+" "); strings.HasPrefix(rest, "table ") {
		got += " table" // "inline table"
	}
	if strings.Contains(msg, "of type []") {
		return field, fmt.Sprintf("got %s %s, want an array of tables [[%s]]", article(got), got, field)
	}
	return field, fmt.Sprintf("got %s %s, want a table [%s]", article(got), got, field)
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// syntaxMsg drops go-toml's "toml: " prefix: the file name already says
// what is being read.
func syntaxMsg(msg string) string {
	return strings.TrimPrefix(msg, "toml: ")
}
