package cluster

import "testing"

func TestParseAssignment(t *testing.T) {
	for _, c := range []struct {
		payload, want string
		err           bool
	}{
		{``, "", false},
		{`{"pioreactor_unit":"u1","experiment":"exp1","assigned_at":"t","updated_at":"t"}`, "exp1", false},
		{`{"pioreactor_unit":"u2","experiment":"exp1"}`, "", true},
		{`{"pioreactor_unit":"u1"}`, "", true},
		{`not json`, "", true},
	} {
		got, err := ParseAssignment("u1", []byte(c.payload))
		if got != c.want || (err != nil) != c.err {
			t.Errorf("ParseAssignment(%q) = %q, %v; want %q, error %v", c.payload, got, err, c.want, c.err)
		}
	}
}
