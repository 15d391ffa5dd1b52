package leaderclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Result is what one unit did with a fan-out request.
type Result struct {
	Unit  string
	OK    bool
	Value json.RawMessage // when OK: the unit's value, as sent
	Error *UnitError      // when not OK
}

// UnitError is why one unit failed. Kind is the daemon's: "refused",
// "unreachable", "timeout", "lost", "internal" (cluster.Error), or what
// upstream's leader sends.
type UnitError struct {
	Kind        string `json:"kind"`
	Message     string `json:"message"`
	Cause       string `json:"cause,omitempty"`
	Remediation string `json:"remediation,omitempty"`
}

func (e *UnitError) Error() string {
	msg := oneLine(e.Message)
	if msg == "" {
		msg = e.Kind
	}
	if msg == "" {
		msg = "failed without saying why"
	}
	if e.Cause != "" {
		msg += " (" + oneLine(e.Cause) + ")"
	}
	if e.Remediation != "" {
		msg += ": " + oneLine(e.Remediation)
	}
	return msg
}

// entry is one unit's part of the envelope.
type entry struct {
	OK    *bool           `json:"ok"`
	Unit  string          `json:"unit"`
	Value json.RawMessage `json:"value"`
	Error json.RawMessage `json:"error"`
}

// DecodeEnvelope reads a fan-out envelope, {unit: {ok, unit, value} |
// {ok: false, unit, error: {kind, message, cause?, remediation?}}}, into
// one Result per unit, sorted by unit. An error that is a bare string is
// taken as its message.
func DecodeEnvelope(b []byte) ([]Result, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("a per-unit result: %w", err)
	}
	if m == nil {
		return nil, errors.New("a per-unit result: got null, want {unit: {ok, ...}}")
	}
	out := make([]Result, 0, len(m))
	for key, raw := range m {
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("the result of unit %q: %w", key, err)
		}
		if e.OK == nil {
			return nil, fmt.Errorf("the result of unit %q has no \"ok\"", key)
		}
		r := Result{Unit: e.Unit, OK: *e.OK}
		if r.Unit == "" {
			r.Unit = key
		}
		if r.OK {
			r.Value = e.Value
		} else {
			ue, err := decodeUnitError(e.Error)
			if err != nil {
				return nil, fmt.Errorf("the error of unit %q: %w", key, err)
			}
			r.Error = ue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out, nil
}

func decodeUnitError(raw json.RawMessage) (*UnitError, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return &UnitError{Message: "failed without saying why"}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return &UnitError{Message: s}, nil
	}
	var ue UnitError
	if err := json.Unmarshal(raw, &ue); err != nil {
		return nil, err
	}
	return &ue, nil
}

// Failed reports whether any result failed.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if !r.OK {
			return true
		}
	}
	return false
}
