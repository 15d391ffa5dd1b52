package dbstream

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/payload"
)

// simMessage is one message a simulated unit publishes, with the row the
// stream must store for it.
type simMessage struct {
	topic   string
	payload []byte
	table   string
	values  []any
}

// kinds of simulated messages, in the proportions of simulatedMix.
const (
	kindOD = iota
	kindGrowthRate
	kindODFiltered
	kindRPM
	kindTemperature
	kindDosing
	kindLog
	kindLED
)

// simulate builds unit's i-th message of kind k, stamped at.
func simulate(unit, experiment string, k, i int, at time.Time) simMessage {
	ts := payload.StructTimestamp(at)
	stamp := payload.LogTimestamp(at)
	pre := "pioreactor/" + unit + "/" + experiment + "/"
	x := float64(i) + 0.25
	switch k {
	case kindOD:
		return simMessage{pre + "od_reading/od2",
			fmt.Appendf(nil, `{"calibrated":0,"timestamp":"%s","angle":"90","od":%v,"channel":"2","ir_led_intensity":80.0}`, ts, x),
			"od_readings", []any{experiment, unit, stamp, x, int64(90), int64(2)}}
	case kindGrowthRate:
		return simMessage{pre + "growth_rate_calculating/growth_rate", fmt.Appendf(nil, `{"growth_rate":%v,"timestamp":"%s"}`, x, ts),
			"growth_rates", []any{experiment, unit, stamp, x}}
	case kindODFiltered:
		return simMessage{pre + "growth_rate_calculating/od_filtered", fmt.Appendf(nil, `{"od_filtered":%v,"timestamp":"%s"}`, x, ts),
			"od_readings_filtered", []any{experiment, unit, stamp, x}}
	case kindRPM:
		return simMessage{pre + "stirring/measured_rpm", fmt.Appendf(nil, `{"measured_rpm":%v,"timestamp":"%s"}`, x, ts),
			"stirring_rates", []any{experiment, unit, stamp, x}}
	case kindTemperature:
		return simMessage{pre + "temperature_automation/temperature", fmt.Appendf(nil, `{"temperature":%v,"timestamp":"%s"}`, x, ts),
			"temperature_readings", []any{experiment, unit, stamp, x}}
	case kindDosing:
		src := "chemostat"
		e := payload.DosingEvent{VolumeChange: payload.Float(x), Event: "add_media", SourceOfEvent: &src, Timestamp: ts}
		// As a unit's outbox publishes it: its id as the last field.
		id := fmt.Sprintf("00000000000000aa-%d", i+1)
		b := e.AppendJSON(nil)
		b = append(append(append(b[:len(b)-1], `,"event_id":"`...), id...), `"}`...)
		return simMessage{pre + "dosing_events", b,
			"dosing_events", []any{experiment, unit, stamp, x, "add_media", "chemostat", id}}
	case kindLog:
		r := payload.LogRecord{Message: fmt.Sprintf("message %d", i), Level: "INFO", Task: "dosing_automation", Source: "app", Timestamp: stamp}
		return simMessage{pre + "logs/app/info", r.AppendJSON(nil),
			"logs", []any{experiment, unit, stamp, r.Message, r.Task, "INFO", "app"}}
	default:
		return simMessage{pre + "led_change_events",
			fmt.Appendf(nil, `{"channel":"C","intensity":%v,"source_of_event":null,"timestamp":"%s"}`, x, ts),
			"led_change_events", []any{experiment, unit, stamp, "C", x, nil}}
	}
}

// key is a row as text, for comparing what was published with what is stored.
func key(table string, values []any) string {
	var b strings.Builder
	b.WriteString(table)
	for _, v := range values {
		fmt.Fprintf(&b, "|%v", v)
	}
	return b.String()
}

// storedRows reads every row of the stream's tables as keys, sorted.
func storedRows(t testing.TB, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, tb := range tables {
		rows, err := db.Query("SELECT " + strings.Join(tb.columns, ", ") + " FROM " + tb.name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(tb.columns))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, key(tb.name, vals))
		}
		rows.Close()
	}
	sort.Strings(out)
	return out
}

func openTemp(t testing.TB) *sql.DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "pioreactor.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitFor polls cond until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
