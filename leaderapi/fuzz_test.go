package leaderapi

import (
	"testing"
	"time"
)

// FuzzDecodeBodies feeds the request-body decoders what a client may send:
// they answer a value or an *httpError, never panic, and what they accept
// builds an argv that starts with the command.
func FuzzDecodeBodies(f *testing.F) {
	for _, s := range []string{`{}`, ``, `{"options":{"target_rpm":500,"x":null},"args":["a"]}`,
		`{"script":{"name":"a.star","content":"x","modules":{"m.star":"y"}},"options":{"k":"v"}}`,
		`{"message":"m","level":"info","timestamp":"2026-07-01T12:00:00Z"}`, `[`, `null`, `{"options":{"a":{"b":1}}}`,
		`{"config_overrides":[1]}`, `{"settings":{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if body, err := DecodeRunBody(b); err == nil {
			if argv, err := RunArgv("stirring", body); err == nil && (argv[0] != "run" || argv[1] != "stirring") {
				t.Fatalf("argv %q", argv)
			}
		} else if _, ok := err.(*httpError); !ok {
			t.Fatalf("DecodeRunBody error %T %v", err, err)
		}
		if body, err := DecodeScriptBody(b); err == nil {
			if argv, err := ScriptArgv(body); err == nil && (argv[0] != "run-script" || argv[1] != body.Script.Name) {
				t.Fatalf("argv %q", argv)
			}
		} else if _, ok := err.(*httpError); !ok {
			t.Fatalf("DecodeScriptBody error %T %v", err, err)
		}
		if _, err := DecodeLogBody(b, time.Unix(0, 0)); err != nil {
			if _, ok := err.(*httpError); !ok {
				t.Fatalf("DecodeLogBody error %T %v", err, err)
			}
		}
		var v struct {
			Settings map[string]any `json:"settings"`
		}
		decodeJSON(b, &v, []string{"settings"}, "settings")
	})
}
