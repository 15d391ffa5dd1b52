package dbstream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/piolab/pio/payload"
)

// settingsSink stores an automation's settings-history record,
// .../<family>_automation/<family>_automation_settings:
//
//	{"pioreactor_unit": u, "experiment": e, "started_at": t0, "ended_at": t1|null,
//	 "automation_name": name, "settings": BASE64(JSON of the settable settings)}
//
// as upstream does, column for column, the settings kept as base64 text.
// The unit and experiment are the topic's: a payload naming others is
// rejected (a unit may only write under its own topics). The timestamps are
// stored in the common YYYY-MM-DDTHH:MM:SS.mmmZ form.
func settingsSink(tb *table) sink {
	return func(unit, experiment string, b []byte, _ time.Time) (Row, error) {
		var r struct {
			Unit       *string `json:"pioreactor_unit"`
			Experiment *string `json:"experiment"`
			StartedAt  *string `json:"started_at"`
			EndedAt    *string `json:"ended_at"`
			Automation string  `json:"automation_name"`
			Settings   *string `json:"settings"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return Row{}, errors.New("not an automation settings object")
		}
		if r.Unit != nil && *r.Unit != unit {
			return Row{}, fmt.Errorf("pioreactor_unit %.40q on the topic of unit %.40q", *r.Unit, unit)
		}
		if r.Experiment != nil && *r.Experiment != experiment {
			return Row{}, fmt.Errorf("experiment %.40q on the topic of experiment %.40q", *r.Experiment, experiment)
		}
		at, started, err := timestamp(r.StartedAt)
		if err != nil {
			return Row{}, fmt.Errorf("started_at: %w", err)
		}
		var ended any
		if r.EndedAt != nil {
			_, e, err := timestamp(r.EndedAt)
			if err != nil {
				return Row{}, fmt.Errorf("ended_at: %w", err)
			}
			ended = e
		}
		if r.Automation == "" {
			return Row{}, errors.New("no automation_name")
		}
		if r.Settings == nil {
			return Row{}, errors.New("no settings")
		}
		if _, err := base64.StdEncoding.DecodeString(*r.Settings); err != nil {
			return Row{}, errors.New("settings is not base64")
		}
		return Row{tb, at, []any{experiment, unit, started, ended, r.Automation, *r.Settings}}, nil
	}
}

// eventSink stores an automation's latest_event,
// {"event_name": name, "message": text|null, "data": value|null}, stamped
// with the leader's clock as upstream does: data as JSON text ("" for
// null), message NULL for null.
func eventSink(tb *table) sink {
	return func(unit, experiment string, b []byte, now time.Time) (Row, error) {
		var r struct {
			Name    string          `json:"event_name"`
			Message *string         `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return Row{}, errors.New("not an automation event object")
		}
		if r.Name == "" {
			return Row{}, errors.New("no event_name")
		}
		var message any
		if r.Message != nil {
			message = *r.Message
		}
		data := ""
		if len(r.Data) > 0 && string(r.Data) != "null" {
			var c bytes.Buffer
			if err := json.Compact(&c, r.Data); err != nil {
				return Row{}, errors.New("data is not JSON")
			}
			data = c.String()
		}
		return Row{tb, now, []any{experiment, unit, payload.LogTimestamp(now), r.Name, message, data}}, nil
	}
}
