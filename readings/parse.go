package readings

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Reading is one reading: a value (for OD, the lowest channel's; Channels
// holds every channel's) and the time in its payload.
type Reading struct {
	Value float64
	// Channels maps channel ("1".."4") to OD, for OD readings only.
	Channels map[string]float64
	At       time.Time
}

// parse decodes a payload of kind k, as upstream publishes it:
// {"<field>": x, "timestamp": "..."}, or for ods
// {"timestamp": "...", "ods": {"2": {"od": x, ...}, ...}}.
func parse(k Kind, b []byte) (Reading, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Reading{}, fmt.Errorf("not a JSON object: %v", err)
	}
	var ts string
	if err := json.Unmarshal(raw["timestamp"], &ts); err != nil {
		return Reading{}, fmt.Errorf("no timestamp string")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Reading{}, fmt.Errorf("timestamp %q: %v", ts, err)
	}
	r := Reading{At: at}
	if k != OD {
		field := sources[k].field
		if err := json.Unmarshal(raw[field], &r.Value); err != nil || raw[field] == nil {
			return Reading{}, fmt.Errorf("no number %s", field)
		}
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			return Reading{}, fmt.Errorf("%s is not finite", field)
		}
		return r, nil
	}
	var ods map[string]struct {
		OD *float64 `json:"od"`
	}
	if err := json.Unmarshal(raw["ods"], &ods); err != nil || len(ods) == 0 {
		return Reading{}, fmt.Errorf("no ods object")
	}
	r.Channels = make(map[string]float64, len(ods))
	first := ""
	for ch, o := range ods {
		if o.OD == nil {
			return Reading{}, fmt.Errorf("ods[%s] has no od", ch)
		}
		r.Channels[ch] = *o.OD
		if first == "" || ch < first {
			first = ch
		}
	}
	r.Value = r.Channels[first]
	return r, nil
}
