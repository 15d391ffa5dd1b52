package growthrate

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/piolab/pio/payload"
)

// odReadings is the part of upstream's ODReadings payload the job reads:
// {"timestamp": ..., "ods": {"2": {"od": ..., "angle": ..., ...}, ...}}.
type odReadings struct {
	Timestamp *string `json:"timestamp"`
	ODs       map[string]*struct {
		OD *float64 `json:"od"`
	} `json:"ods"`
}

// parseODReadings decodes an od_reading/ods payload into its ODs and its
// timestamp.
func parseODReadings(b []byte) (ODs, time.Time, error) {
	var w odReadings
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, time.Time{}, fmt.Errorf("ods payload %.200q: %w", b, err)
	}
	if w.Timestamp == nil || w.ODs == nil {
		return nil, time.Time{}, fmt.Errorf("ods payload %.200q: want {\"timestamp\": ..., \"ods\": {\"<channel>\": {\"od\": ...}, ...}}", b)
	}
	at, err := parseTimestamp(*w.Timestamp)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ods payload: %w", err)
	}
	ods := make(ODs, len(w.ODs))
	for ch, r := range w.ODs {
		if r == nil || r.OD == nil {
			return nil, time.Time{}, fmt.Errorf("ods payload %.200q: channel %q has no od", b, ch)
		}
		ods[ch] = *r.OD
	}
	return ods, at, nil
}

// parseTimestamp reads an ISO-8601 timestamp as upstream writes them
// ("2026-01-01T00:00:05.123Z"); one without a zone is taken as UTC.
func parseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timestamp %.60q: want ISO 8601, like 2026-01-01T00:00:05.000Z", s)
}

// appendOutput appends upstream's GrowthRate or ODFiltered payload,
// {"<name>":<value>,"timestamp":"<timestamp>"}, with msgspec's encodings.
func appendOutput(b []byte, name string, v float64, at time.Time) []byte {
	b = append(b, `{"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	b = payload.AppendPyFloat(b, v)
	b = append(b, `,"timestamp":"`...)
	b = payload.AppendStructTimestamp(b, at)
	return append(b, `"}`...)
}
