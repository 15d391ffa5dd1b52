package dbstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/piolab/pio/payload"
)

// pwmPins maps the HAT's GPIO pins, the keys of pwms/dc, back to PWM
// channels 1 to 5 (runtime.HATPins, which a test compares with it).
var pwmPins = map[string]int{"17": 1, "13": 2, "16": 3, "12": 4, "18": 5}

// pwmSink stores a unit's PWM duties, {"<gpio pin>": duty, ...}, as
// channel_1..channel_5 (a channel missing from the payload is 0.0), stamped
// with the leader's clock as upstream does. Keys that are not a HAT pin
// (the expansion's "ch6", ...) are not stored, as upstream's table has no
// column for them.
func pwmSink(unit, experiment string, b []byte, now time.Time) (Row, error) {
	var duties map[string]*float64
	if err := json.Unmarshal(b, &duties); err != nil || duties == nil {
		return Row{}, errors.New("not a JSON object of GPIO pin to duty cycle")
	}
	ch := [5]float64{}
	for pin, d := range duties {
		c, ok := pwmPins[pin]
		if !ok {
			continue
		}
		x, err := finite("duty of pin "+strconv.Quote(pin), d)
		if err != nil {
			return Row{}, err
		}
		ch[c-1] = x
	}
	return Row{&pwmDCs, now, []any{experiment, unit, payload.LogTimestamp(now), ch[0], ch[1], ch[2], ch[3], ch[4]}}, nil
}

// odBlankSink stores od_blank/mean/<channel>, an OD reading object like
// od_reading/od<N>'s, in od_blanks (channel 1 or 2, as upstream's CHECK).
func odBlankSink(channel string) (sink, bool) {
	if channel != "1" && channel != "2" {
		return nil, false
	}
	return func(unit, experiment string, b []byte, _ time.Time) (Row, error) {
		r, at, stamp, od, err := parseRawOD(b, channel)
		if err != nil {
			return Row{}, err
		}
		angle, err := strconv.Atoi(r.Angle)
		if err != nil {
			return Row{}, fmt.Errorf("angle %.10q is not an integer", r.Angle)
		}
		return Row{&odBlanks, at, []any{experiment, unit, stamp, od, channel, angle}}, nil
	}, true
}

// profileRunSink stores experiment_profile/<id>/experiment_profile_name: the
// payload is the profile's name; the run starts now on the leader's clock.
func profileRunSink(_, experiment string, b []byte, now time.Time) (Row, error) {
	if !utf8.Valid(b) {
		return Row{}, errors.New("experiment_profile_name is not UTF-8 text")
	}
	if len(b) > maxProfileName {
		return Row{}, fmt.Errorf("experiment_profile_name is %d bytes, more than %d", len(b), maxProfileName)
	}
	return Row{&profileRuns, now, []any{payload.LogTimestamp(now), string(b), experiment}}, nil
}

// maxProfileName bounds a stored profile name (a file name, in practice).
const maxProfileName = 1024
