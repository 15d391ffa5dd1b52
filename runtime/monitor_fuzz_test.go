package runtime

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
)

// FuzzMonitor sends the monitor a run of messages, one a line: a line
// "@<variable>=<value>" goes to .../bioreactor/<variable>/set, any other to
// dosing_events, all for one experiment whose name is fuzzed too. Nothing
// panics; the liquid model stays within its bounds (volumes within the
// vial, fraction within [0, 1], counters finite and never negative); every
// value it publishes is a finite number; an event it applies moves its
// counter by exactly its volume_change; and it counts no more events than
// it was sent.
func FuzzMonitor(f *testing.F) {
	event := func(v, name string) string {
		return `{"volume_change":` + v + `,"event":"` + name + `","source_of_event":null,"timestamp":"2026-01-01T00:00:00Z"}`
	}
	for _, v := range []string{"1e-300", "1e-12", "1e308", "1e-9", "-1", "-1e308", "-1000", "0", "5e-324", "1e999", "NaN", "inf", "-inf", "null", `"1"`} {
		for _, name := range []string{"add_media", "add_alt_media", "remove_waste", "add_salty_media", "lost", "init", " ready ", ""} {
			f.Add("exp1", []byte(event(v, name)))
		}
		f.Add("exp1", []byte("@current_volume_ml="+v+"\n"+event("1.0", "add_media")))
		f.Add("exp1", []byte("@alt_media_fraction="+v+"\n"+event("1.0", "add_alt_media")))
		f.Add("exp1", []byte("@cumulative_media_added_ml="+v+"\n"+event("-5.0", "add_media")))
	}
	for _, exp := range []string{"exp1", "", "junk name", "$experiment", "\xff\xfe", "a+b", "#", strings.Repeat("x", 1000)} {
		f.Add(exp, []byte(event("1.0", "add_media")+"\n"+event("-2.0", "remove_waste")))
	}
	f.Add("exp1", []byte(""))
	f.Add("exp1", []byte("\n\n"))
	f.Add("exp1", []byte("not json\n{}\n\xff"))
	f.Add("exp1", []byte(event("3.0", "add_media")+"\n"+event("-3.0", "add_media")+"\n"+event("-1000.0", "remove_waste")))
	f.Add("exp1", []byte(`{"volume_change":1,"event":"add_media","event":"remove_waste"}`))
	f.Add("exp1", []byte(`{"volume_change":5.0,"event":"add_media","source_of_event":"pump_calibration"}`))
	// A payload that ends in the event id's bare field once panicked the
	// monitor (outbox.CutID sliced past its start).
	f.Add("exp1", []byte(`,"event_id":"}`))
	f.Add("exp1", []byte(`{"volume_change":1.0,"event":"add_media","event_id":"}`))
	f.Add("exp1", []byte(`{"volume_change":1.0,"event":"add_media","source_of_event":"`+strings.Repeat("s", 1<<20)+`"}`))
	f.Fuzz(func(t *testing.T, exp string, body []byte) {
		if strings.ContainsAny(exp, "/") {
			return // another topic, not this experiment's
		}
		h := newHarness(t)
		m, err := StartMonitor(h.env)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		o, err := h.env.Options()
		if err != nil {
			t.Fatal(err)
		}
		capacity := o.Bioreactor.Model.CapacityML
		var published []pubsub.Message
		tap := h.broker.Tap
		h.broker.Tap = func(client string, msg pubsub.Message) {
			tap(client, msg)
			if strings.Contains(msg.Topic, "/bioreactor/") && !strings.HasSuffix(msg.Topic, "/set") {
				published = append(published, msg)
			}
		}
		sent := 0
		for _, line := range bytes.Split(body, []byte("\n")) {
			if rest, ok := bytes.CutPrefix(line, []byte("@")); ok {
				name, value, _ := bytes.Cut(rest, []byte("="))
				if bytes.ContainsAny(name, "/") {
					continue
				}
				h.set("pioreactor/unit1/"+exp+"/bioreactor/"+string(name)+"/set", string(value))
				continue
			}
			before, _ := m.Liquid(exp)
			a0, _ := m.Counts()
			h.set("pioreactor/unit1/"+exp+"/dosing_events", string(line))
			sent++
			after, _ := m.Liquid(exp)
			if a1, _ := m.Counts(); a1 > a0 {
				// An applied event moves its counter by exactly volume_change.
				if ev, err := payload.ParseDosingEvent(line); err == nil {
					name, b := liquid.Counter(before, ev.Event)
					_, a := liquid.Counter(after, ev.Event)
					if name != liquid.CurrentVolume && math.Abs(a-b-float64(ev.VolumeChange)) > 1e-9*math.Max(1, math.Abs(b)) {
						t.Fatalf("event %q moved %s from %v to %v", line, name, b, a)
					}
				}
			}
		}
		st, err := m.Liquid(exp)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ValidateAll(capacity); err != nil {
			t.Fatalf("after %.200q on %q: the model is out of bounds: %v (%+v)", body, exp, err, st)
		}
		if applied, dropped := m.Counts(); applied < 0 || dropped < 0 || applied+dropped > sent {
			t.Fatalf("after %d events: applied %d, dropped %d", sent, applied, dropped)
		}
		for _, msg := range published {
			v, err := strconv.ParseFloat(string(msg.Payload), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("after %.200q: the monitor published %q on %s", body, msg.Payload, msg.Topic)
			}
			name := msg.Topic[strings.LastIndexByte(msg.Topic, '/')+1:]
			if err := liquid.Validate(name, v, capacity); err != nil {
				t.Fatalf("after %.200q: the monitor published %s: %v", body, msg.Topic, err)
			}
		}
	})
}
