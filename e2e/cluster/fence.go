package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The test cluster's fence device, the testbed's STONITH: a node's fence
// command drops a request file naming the node to power off and waits for
// the answer file; ServeFencing, in the test, carries the request out.

// fenceDir holds the requests and answers.
func (c *Cluster) fenceDir() string { return filepath.Join(c.dir, "fence") }

// fencePoll is how often the fence script and ServeFencing look for files:
// small against the dead time, cheap in forks.
const fencePoll = 5 * time.Millisecond

func (c *Cluster) writeFenceScript() (string, error) {
	if err := os.MkdirAll(c.fenceDir(), 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(c.dir, "fence.sh")
	script := fmt.Sprintf(`#!/bin/sh
# Fence device of the test cluster (e2e/cluster): asks the test to power
# node $1 off and waits for its answer (exit 0: done, 1: failed or no answer).
req=%[1]s/$1.$$
echo "$1" >"$req.tmp" && mv "$req.tmp" "$req.req" || exit 1
i=0
while [ $i -lt 800 ]; do
	[ -e "$req.ok" ] && { rm -f "$req.ok"; exit 0; }
	[ -e "$req.fail" ] && { cat "$req.fail" >&2; rm -f "$req.fail"; exit 1; }
	sleep 0.005; i=$((i+1))
done
rm -f "$req.req"
echo "fence device did not answer" >&2
exit 1
`, c.fenceDir())
	return path, os.WriteFile(path, []byte(script), 0o755)
}

// ServeFencing answers fence requests until ctx ends: for each, it calls
// fence with the node to power off, and tells the fence command whether
// that worked. Requests are served one at a time, in no particular order.
func (c *Cluster) ServeFencing(ctx context.Context, fence func(node string) error) error {
	t := time.NewTicker(fencePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		reqs, err := filepath.Glob(filepath.Join(c.fenceDir(), "*.req"))
		if err != nil {
			return fmt.Errorf("list fence requests: %w", err)
		}
		for _, req := range reqs {
			b, err := os.ReadFile(req)
			if errors.Is(err, os.ErrNotExist) {
				continue // given up by its script
			}
			if err != nil {
				return fmt.Errorf("read fence request: %w", err)
			}
			if err := os.Remove(req); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("take fence request: %w", err)
			}
			base := strings.TrimSuffix(req, ".req")
			answer, text := base+".ok", ""
			if err := fence(strings.TrimSpace(string(b))); err != nil {
				answer, text = base+".fail", err.Error()
			}
			if err := os.WriteFile(answer, []byte(text+"\n"), 0o644); err != nil {
				return fmt.Errorf("answer fence request: %w", err)
			}
		}
	}
}
