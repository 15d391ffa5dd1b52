package leaderapi

import (
	"encoding/json"
	"testing"

	"github.com/piolab/pio/cluster"
)

// The envelope's entries have upstream's keys exactly: {ok, unit, value}
// for a success (value present even when the daemon sent none) and {ok,
// unit, error, status_code, retryable} for a failure (retryable present
// even when false).
func TestEnvelopeEntryKeys(t *testing.T) {
	env := envelope([]string{"a", "b", "c"}, []cluster.Reply{
		{Unit: "a", OK: true},
		{Unit: "b", Error: &cluster.Error{Kind: "refused", Message: "no"}},
	})
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"a": {"ok", "unit", "value"},
		"b": {"ok", "unit", "error", "status_code", "retryable"},
		"c": {"ok", "unit", "error", "status_code", "retryable"},
	}
	for u, keys := range want {
		if len(got[u]) != len(keys) {
			t.Errorf("%s: keys %s, want %v", u, b, keys)
		}
		for _, k := range keys {
			if _, ok := got[u][k]; !ok {
				t.Errorf("%s: no key %q in %s", u, k, b)
			}
		}
	}
	if string(got["b"]["retryable"]) != "false" || string(got["c"]["retryable"]) != "true" {
		t.Errorf("retryable: b %s, c %s", got["b"]["retryable"], got["c"]["retryable"])
	}
}
