package tables

import (
	"fmt"
	"io"
	"os"
)

// maxFileSize bounds a table file: tables are a few lines, and a huge file
// is a wrong path, not a table.
const maxFileSize = 1 << 20

// ParseFile reads and parses the table file at path.
func ParseFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open table: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("larger than %d bytes", maxFileSize)}}
	}
	return Parse(path, data)
}
