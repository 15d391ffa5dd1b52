package odreading

import (
	"time"

	"github.com/piolab/pio/payload"
)

// reading is one channel's OD reading (upstream's RawODReading).
type reading struct {
	channel     string // "1".."4"
	angle       string // "45", "90", "135", "180"
	od          float64
	irIntensity float64
}

// timestamp formats t as upstream's readings carry it: UTC, rounded to the
// millisecond.
func timestamp(t time.Time) []byte {
	return payload.AppendStructTimestamp(nil, t.Round(time.Millisecond))
}

// appendRaw appends upstream's RawODReading JSON:
// {"calibrated":0,"timestamp":...,"angle":"90","od":...,"channel":"2","ir_led_intensity":...}.
func appendRaw(b []byte, r reading, ts []byte) []byte {
	b = append(b, `{"calibrated":0,"timestamp":"`...)
	b = append(b, ts...)
	b = append(b, `","angle":`...)
	b = payload.AppendJSONString(b, r.angle)
	b = append(b, `,"od":`...)
	b = payload.AppendPyFloat(b, r.od)
	b = append(b, `,"channel":`...)
	b = payload.AppendJSONString(b, r.channel)
	b = append(b, `,"ir_led_intensity":`...)
	b = payload.AppendPyFloat(b, r.irIntensity)
	return append(b, '}')
}

// appendODs appends upstream's ODReadings JSON: {"timestamp":...,"ods":{"2":{...}}}.
func appendODs(b []byte, rs []reading, ts []byte) []byte {
	b = append(b, `{"timestamp":"`...)
	b = append(b, ts...)
	b = append(b, `","ods":{`...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = payload.AppendJSONString(b, r.channel)
		b = append(b, ':')
		b = appendRaw(b, r, ts)
	}
	return append(b, "}}"...)
}

// appendRelative appends {"relative_intensity_of_ir_led":...,"timestamp":...}.
func appendRelative(b []byte, rel float64, ts []byte) []byte {
	b = append(b, `{"relative_intensity_of_ir_led":`...)
	b = payload.AppendPyFloat(b, rel)
	b = append(b, `,"timestamp":"`...)
	b = append(b, ts...)
	return append(b, `"}`...)
}
