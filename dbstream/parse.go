package dbstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/topic"
)

// Row is one row to insert: its table, the time it is stamped with (the
// payload's, or the leader's clock for the topics upstream stamps so) and
// the values of the table's columns, in their order.
type Row struct {
	table  *table
	At     time.Time
	Values []any
}

// Table is the name of the row's table.
func (r Row) Table() string { return r.table.name }

// errIgnored marks a message the stream does not store and does not count as
// bad: a topic it does not sink, or an empty payload.
var errIgnored = errors.New("not stored")

// sink maps a topic's job and setting segments to how its payload becomes a
// row.
type sink func(unit, experiment string, b []byte, now time.Time) (Row, error)

// sinks is keyed by the topic after pioreactor/<unit>/<experiment>/.
var sinks = map[string]sink{
	"growth_rate_calculating/od_filtered":     fieldSink(&odReadingsFiltered, "od_filtered"),
	"growth_rate_calculating/growth_rate":     fieldSink(&growthRates, "growth_rate"),
	"od_reading/od_fused":                     fieldSink(&odReadingsFused, "od_fused"),
	"od_reading/relative_intensity_of_ir_led": fieldSink(&irLEDIntensities, "relative_intensity_of_ir_led"),
	"temperature_automation/temperature":      fieldSink(&temperatureReads, "temperature"),
	"stirring/measured_rpm":                   fieldSink(&stirringRates, "measured_rpm"),
	"bioreactor/alt_media_fraction":           numberSink(&altMediaFractions),
	"bioreactor/current_volume_ml":            numberSink(&liquidVolumes),
	"dosing_events":                           dosingSink,
	"led_change_events":                       ledSink,
	"od_reading/od1":                          odSink("1"),
	"od_reading/od2":                          odSink("2"),
	"od_reading/od3":                          odSink("3"),
	"od_reading/od4":                          odSink("4"),
	"od_reading/raw_od1":                      rawODSink("1"),
	"od_reading/raw_od2":                      rawODSink("2"),
	"od_reading/raw_od3":                      rawODSink("3"),
	"od_reading/raw_od4":                      rawODSink("4"),
	"pwms/dc":                                 pwmSink,

	"dosing_automation/dosing_automation_settings":           settingsSink(&dosingAutomationSettings),
	"led_automation/led_automation_settings":                 settingsSink(&ledAutomationSettings),
	"temperature_automation/temperature_automation_settings": settingsSink(&temperatureAutomationSettings),
	"dosing_automation/latest_event":                         eventSink(&dosingAutomationEvents),
	"led_automation/latest_event":                            eventSink(&ledAutomationEvents),
	"temperature_automation/latest_event":                    eventSink(&temperatureAutomationEvents),
}

// Filters are the MQTT filters the stream subscribes to.
func Filters() []string {
	fs := make([]string, 0, len(sinks)+1)
	for k := range sinks {
		fs = append(fs, topic.Root+"/+/+/"+k)
	}
	return append(fs, topic.Root+"/+/+/logs/#", topic.Root+"/+/+/od_blank/mean/+",
		topic.Root+"/+/+/experiment_profile/+/experiment_profile_name")
}

// Parse turns one message into a row. It returns errIgnored (see Ignored)
// for topics the stream does not store, for /_testing_ topics and for empty
// payloads, and another error for a payload it cannot store.
func Parse(t string, b []byte, now time.Time) (Row, error) {
	if strings.Contains(t, "/_testing_") || len(b) == 0 {
		return Row{}, errIgnored
	}
	unit, experiment, rest, ok := topic.Parts(t)
	if !ok {
		return Row{}, errIgnored
	}
	if rest[0] == "logs" {
		return parseLog(unit, experiment, rest[1:], b)
	}
	if len(rest) == 3 && rest[0] == "od_blank" && rest[1] == "mean" {
		s, ok := odBlankSink(rest[2])
		if !ok {
			return Row{}, fmt.Errorf("od_blank channel %.10q is not 1 or 2", rest[2])
		}
		return s(unit, experiment, b, now)
	}
	if len(rest) == 3 && rest[0] == "experiment_profile" && rest[2] == "experiment_profile_name" {
		return profileRunSink(unit, experiment, b, now)
	}
	if len(rest) > 2 {
		return Row{}, errIgnored
	}
	s, ok := sinks[strings.Join(rest, "/")]
	if !ok {
		return Row{}, errIgnored
	}
	return s(unit, experiment, b, now)
}

// Ignored reports whether err is Parse's error for a message that is not
// stored and not bad.
func Ignored(err error) bool { return errors.Is(err, errIgnored) }

// timestamp parses a payload's timestamp into the time and upstream's stored
// form, YYYY-MM-DDTHH:MM:SS.mmmZ.
func timestamp(s *string) (time.Time, string, error) {
	if s == nil || *s == "" {
		return time.Time{}, "", errors.New("no timestamp")
	}
	at, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("timestamp %.40q is not RFC 3339", *s)
	}
	return at, payload.LogTimestamp(at), nil
}

// finite checks a number a row stores.
func finite(name string, v *float64) (float64, error) {
	if v == nil {
		return 0, fmt.Errorf("no number %s", name)
	}
	if math.IsNaN(*v) || math.IsInf(*v, 0) {
		return 0, fmt.Errorf("%s is not finite", name)
	}
	return *v, nil
}

// fieldSink stores {"<field>": x, "timestamp": t} as (t, x).
func fieldSink(tb *table, field string) sink {
	return func(unit, experiment string, b []byte, _ time.Time) (Row, error) {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return Row{}, errors.New("not a JSON object")
		}
		var ts *string
		if f, ok := raw["timestamp"]; ok {
			if err := json.Unmarshal(f, &ts); err != nil {
				return Row{}, errors.New("timestamp is not a string")
			}
		}
		at, stamp, err := timestamp(ts)
		if err != nil {
			return Row{}, err
		}
		var v *float64
		if f, ok := raw[field]; ok {
			if err := json.Unmarshal(f, &v); err != nil {
				return Row{}, fmt.Errorf("%s is not a number", field)
			}
		}
		x, err := finite(field, v)
		if err != nil {
			return Row{}, err
		}
		return Row{tb, at, []any{experiment, unit, stamp, x}}, nil
	}
}

// numberSink stores a bare number, stamped with the leader's clock, as
// upstream does for the liquid model's variables.
func numberSink(tb *table) sink {
	return func(unit, experiment string, b []byte, now time.Time) (Row, error) {
		x, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			return Row{}, fmt.Errorf("payload %.40q is not a number", b)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Row{}, errors.New("value is not finite")
		}
		return Row{tb, now, []any{experiment, unit, payload.LogTimestamp(now), x}}, nil
	}
}

// rawOD is upstream's RawODReading: angle and channel are strings.
type rawOD struct {
	Timestamp *string  `json:"timestamp"`
	Angle     string   `json:"angle"`
	OD        *float64 `json:"od"`
	Channel   string   `json:"channel"`
}

func parseRawOD(b []byte, channel string) (rawOD, time.Time, string, float64, error) {
	var r rawOD
	if err := json.Unmarshal(b, &r); err != nil {
		return r, time.Time{}, "", 0, errors.New("not an OD reading object")
	}
	at, stamp, err := timestamp(r.Timestamp)
	if err != nil {
		return r, at, "", 0, err
	}
	od, err := finite("od", r.OD)
	if err != nil {
		return r, at, "", 0, err
	}
	if r.Channel == "" {
		r.Channel = channel
	}
	if r.Channel != channel {
		return r, at, "", 0, fmt.Errorf("channel %.10q on the topic of channel %s", r.Channel, channel)
	}
	return r, at, stamp, od, nil
}

func odSink(channel string) sink {
	ch, _ := strconv.Atoi(channel)
	return func(unit, experiment string, b []byte, _ time.Time) (Row, error) {
		r, at, stamp, od, err := parseRawOD(b, channel)
		if err != nil {
			return Row{}, err
		}
		angle, err := strconv.Atoi(r.Angle)
		if err != nil {
			return Row{}, fmt.Errorf("angle %.10q is not an integer", r.Angle)
		}
		return Row{&odReadings, at, []any{experiment, unit, stamp, od, angle, ch}}, nil
	}
}

func rawODSink(channel string) sink {
	ch, _ := strconv.Atoi(channel)
	return func(unit, experiment string, b []byte, _ time.Time) (Row, error) {
		_, at, stamp, od, err := parseRawOD(b, channel)
		if err != nil {
			return Row{}, err
		}
		return Row{&rawODReadings, at, []any{experiment, unit, stamp, od, ch}}, nil
	}
}

func dosingSink(unit, experiment string, b []byte, _ time.Time) (Row, error) {
	// The outbox's id, the event's last field (upstream's decoder ignores
	// it); any id, well formed or not, is only the key that makes a replay
	// a duplicate.
	id, b := outbox.CutID(b)
	e, err := payload.ParseDosingEvent(b)
	if err != nil {
		return Row{}, err
	}
	at, stamp, err := timestamp(&e.Timestamp)
	if err != nil {
		return Row{}, err
	}
	if e.Event == "" {
		return Row{}, errors.New("no event")
	}
	var source any
	if e.SourceOfEvent != nil {
		source = *e.SourceOfEvent
	}
	var eventID any // NULL: an event without an id is stored every time
	if id != "" {
		eventID = id
	}
	return Row{&dosingEvents, at, []any{experiment, unit, stamp, float64(e.VolumeChange), e.Event, source, eventID}}, nil
}

func ledSink(unit, experiment string, b []byte, _ time.Time) (Row, error) {
	var raw struct {
		Channel   string   `json:"channel"`
		Intensity *float64 `json:"intensity"`
		Source    *string  `json:"source_of_event"`
		Timestamp *string  `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Row{}, errors.New("not an LED change event object")
	}
	at, stamp, err := timestamp(raw.Timestamp)
	if err != nil {
		return Row{}, err
	}
	x, err := finite("intensity", raw.Intensity)
	if err != nil {
		return Row{}, err
	}
	switch raw.Channel {
	case "A", "B", "C", "D":
	default:
		return Row{}, fmt.Errorf("channel %.10q is not A, B, C or D", raw.Channel)
	}
	var source any
	if raw.Source != nil {
		source = *raw.Source
	}
	return Row{&ledChangeEvents, at, []any{experiment, unit, stamp, raw.Channel, x, source}}, nil
}

// parseLog stores a log record; its topic (logs/<source>/<level>) gives the
// source and level a record leaves out.
func parseLog(unit, experiment string, rest []string, b []byte) (Row, error) {
	var r struct {
		Message   *string `json:"message"`
		Level     string  `json:"level"`
		Task      string  `json:"task"`
		Source    string  `json:"source"`
		Timestamp *string `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return Row{}, errors.New("not a log record object")
	}
	if r.Message == nil {
		return Row{}, errors.New("no message")
	}
	at, stamp, err := timestamp(r.Timestamp)
	if err != nil {
		return Row{}, err
	}
	if r.Source == "" && len(rest) > 0 {
		r.Source = rest[0]
	}
	if r.Level == "" && len(rest) > 1 {
		r.Level = rest[1]
	}
	return Row{&logs, at, []any{experiment, unit, stamp, *r.Message, r.Task, strings.ToUpper(r.Level), r.Source}}, nil
}
