package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestJournalPrefix(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "8:1234")
	var b bytes.Buffer
	log := New(&b, "had2", "alpha", "info")
	log.Error().Msg("boom")
	log.Info().Msg("fine")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "<3>{") || !strings.HasPrefix(lines[1], "<6>{") {
		t.Fatalf("got %q, want lines prefixed <3> and <6>", lines)
	}
	if strings.Contains(b.String(), `"time"`) {
		t.Errorf("journal lines carry a timestamp: %s", b.String())
	}
}

func TestPlainJSON(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "")
	var b bytes.Buffer
	log := New(&b, "had1", "alpha", "warn")
	log.Info().Msg("hidden")
	log.Warn().Msg("shown")
	got := b.String()
	if strings.Contains(got, "hidden") || !strings.Contains(got, `"proc":"had1"`) || !strings.Contains(got, `"node":"alpha"`) || !strings.HasPrefix(got, "{") {
		t.Fatalf("got %q, want one JSON warn line with node and proc", got)
	}
}
