package admintest

import (
	"encoding/json"
	"sort"
	"testing"
	"time"
)

// StatusKeys are the members docs/console-api.md documents, by object:
// what the web console and scripts rely on. A missing one is a broken
// contract.
var StatusKeys = map[string][]string{
	"":                 {"local", "peer", "peer_error"},
	"local":            {"node", "peer", "pair", "paths", "daemons", "agents", "perf", "resources", "transitions", "drops", "last_admin_reply", "taken"},
	"node":             {"id", "name", "state", "held", "flags"},
	"peer":             {"id", "name", "state", "held", "flags", "alive", "last_heard_s", "epoch"},
	"paths":            {"name", "up", "last_heard_s", "heard", "late", "downs", "rtt_ms", "max_gap_ms", "loss_percent"},
	"daemons":          {"role", "pid", "alive", "updated_s", "phase"},
	"agents":           {"name", "value", "message", "age_s", "critical", "service", "pid", "restarts"},
	"perf":             {"cpu_percent", "mem_percent", "net_packets_in_per_s", "net_packets_out_per_s", "disk_reads_per_s", "disk_writes_per_s", "load1"},
	"resources":        {"group", "table", "held", "entries"},
	"entries":          {"kind", "name"},
	"transitions":      {"time", "from", "to", "text"},
	"drops":            {"other_cluster", "bad_mac", "replay", "truncated", "invalid", "serial_garbage"},
	"last_admin_reply": {"id", "ok", "text"},
}

// optional members may be absent (the contract says "or absent").
var optional = map[string]bool{"perf": true, "last_admin_reply": true}

// CheckStatusSchema reports the documented members missing from a raw
// GET /v1/status answer.
func CheckStatusSchema(t testing.TB, raw []byte) {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("status is not a JSON object: %v", err)
	}
	has := func(where string, obj map[string]any, keys []string) {
		var missing []string
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			var got []string
			for k := range obj {
				got = append(got, k)
			}
			sort.Strings(got)
			t.Errorf("%s lacks %v (has %v)", where, missing, got)
		}
	}
	has("status", top, StatusKeys[""])
	local, _ := top["local"].(map[string]any)
	var always []string
	for _, k := range StatusKeys["local"] {
		if !optional[k] {
			always = append(always, k)
		}
	}
	has("local", local, always)
	for _, name := range []string{"node", "peer", "perf", "drops", "last_admin_reply"} {
		obj, ok := local[name].(map[string]any)
		if !ok && optional[name] {
			continue
		}
		has("local."+name, obj, StatusKeys[name])
	}
	for _, name := range []string{"paths", "daemons", "agents", "resources", "transitions"} {
		list, _ := local[name].([]any)
		if len(list) == 0 {
			t.Errorf("local.%s is empty; the test needs one", name)
			continue
		}
		obj, _ := list[0].(map[string]any)
		has("local."+name+"[0]", obj, StatusKeys[name])
		if name == "resources" {
			entries, _ := obj["entries"].([]any)
			if len(entries) == 0 {
				t.Error("local.resources[0].entries is empty")
				continue
			}
			e, _ := entries[0].(map[string]any)
			has("local.resources[0].entries[0]", e, StatusKeys["entries"])
		}
	}
	if tr, _ := local["transitions"].([]any); len(tr) > 0 {
		s, _ := tr[0].(map[string]any)["time"].(string)
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("transitions[0].time %q is not RFC 3339", s)
		}
	}
}
