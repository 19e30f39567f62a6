package alerts

import (
	"context"
	"encoding/json"
	"testing"
)

func TestLogChannel(t *testing.T) {
	tests := []struct{ level, want string }{{"info", "info"}, {"warning", "warn"}, {"error", "error"}, {"odd", "error"}}
	for _, tt := range tests {
		var buf syncBuffer
		c := newLog(testLogger(&buf).With().Str("node", "beta").Logger())
		if err := c.deliver(context.Background(), alert{Event: ev(tt.level, "path", "lan down")}); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(buf.String()), &got); err != nil {
			t.Fatalf("decode %q: %v", buf.String(), err)
		}
		want := map[string]any{"level": tt.want, "node": "beta", "alert_node": "alpha", "alert_level": tt.level,
			"kind": "path", "text": "lan down", "at": "2026-11-22T02:00:00Z", "message": "alert"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("level %s: %s: got %v, want %v", tt.level, k, got[k], v)
			}
		}
	}
}
