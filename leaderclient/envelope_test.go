package leaderclient_test

import (
	"strings"
	"testing"

	"github.com/piolab/pio/leaderclient"
)

func TestDecodeEnvelope(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{`{"b":{"ok":true,"unit":"b","value":1},"a":{"ok":false,"unit":"a","error":{"kind":"unreachable","message":"gone","remediation":"start it"}}}`, "a:gone: start it b:ok", ""},
		{`{"a":{"ok":false,"error":"plain"}}`, "a:plain", ""},
		{`{}`, "", ""},
		{`null`, "", "null"},
		{`[]`, "", "cannot unmarshal"},
		{`{"a":{"unit":"a"}}`, "", `no "ok"`},
		{`{"a":{"ok":false,"error":5}}`, "", "error of unit"},
	}
	for _, tc := range cases {
		rs, err := leaderclient.DecodeEnvelope([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		var got []string
		for _, r := range rs {
			if r.OK {
				got = append(got, r.Unit+":ok")
			} else {
				got = append(got, r.Unit+":"+r.Error.Error())
			}
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, s, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"u1":{"ok":true,"unit":"u1","value":{"job":"x"}}}`), 200)
	f.Add([]byte(`{"error":"x","status":400,"cause":"y","remediation":"z"}`), 400)
	f.Add([]byte(`{"error":{"message":"m"}}`), 500)
	f.Fuzz(func(t *testing.T, b []byte, status int) {
		rs, err := leaderclient.DecodeEnvelope(b)
		if err == nil {
			for i, r := range rs {
				if !r.OK && r.Error == nil {
					t.Fatalf("failed result without an error: %+v", r)
				}
				if i > 0 && rs[i-1].Unit > r.Unit {
					t.Fatalf("not sorted: %+v", rs)
				}
				if !r.OK {
					_ = r.Error.Error()
				}
			}
		}
		e := leaderclient.DecodeError("http://leader:8080", "GET /api/x", status, b)
		if msg := e.Error(); msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("error line %q", msg)
		}
	})
}
