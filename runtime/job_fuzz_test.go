package runtime

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
)

// hostileValues are values a person or the network has sent a unit: tiny,
// huge and non-finite numbers, states given as settings, padded words,
// empty and invalid-UTF-8 payloads, and a 1 MB string.
var hostileValues = []string{
	"1e-300", "1e-12", "1e308", "1e-9", "-1", "0", "5e-324", "1e999",
	"NaN", "nan", "inf", "-inf", "0x1p-2", "+1", "01", "9223372036854775808",
	"lost", "init", " ready ", "ready", "READY", "sleeping", "disconnected", "ready\x00",
	"True", "yes", "", " ", "\xff\xfe", `{"a":1}`, `[1,2]`, `null`, `"x"`,
	strings.Repeat("a", 1<<20),
}

// fuzzSettings are the settings of fuzzJob: one of each datatype, a float
// whose setter refuses values above 10, and a read-only string.
var fuzzSettings = []struct {
	Setting
	initial any
}{
	{Setting{Name: "target", Datatype: payload.TypeFloat, Settable: true}, 1.5},
	{Setting{Name: "count", Datatype: payload.TypeInteger, Settable: true}, int64(3)},
	{Setting{Name: "flag", Datatype: payload.TypeBoolean, Settable: true}, false},
	{Setting{Name: "label", Datatype: payload.TypeString, Settable: true}, "a"},
	{Setting{Name: "blob", Datatype: payload.TypeJSON, Settable: true}, map[string]any{"k": 1.0}},
	{Setting{Name: "fixed", Datatype: payload.TypeString}, "fixed"},
	{Setting{Name: "guarded", Datatype: payload.TypeFloat, Settable: true}, 2.0},
}

// fuzzJob is a started job with fuzzSettings, and the messages it publishes
// from now on, logs left out.
func fuzzJob(t *testing.T) (*harness, *Job, *[]pubsub.Message) {
	h := newHarness(t)
	var msgs []pubsub.Message
	tap := h.broker.Tap
	h.broker.Tap = func(client string, m pubsub.Message) {
		tap(client, m)
		if client != "test" && !strings.Contains(m.Topic, "/logs/") {
			msgs = append(msgs, m)
		}
	}
	j := newTestJob(t, h, "job")
	for _, s := range fuzzSettings {
		set := s.Setting
		if set.Name == "guarded" {
			set.Set = func(v any) error {
				if v.(float64) > 10 {
					return errors.New("above 10")
				}
				j.SetValue("guarded", v)
				return nil
			}
		}
		if err := j.AddSetting(set, s.initial); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Start(); err != nil {
		t.Fatal(err)
	}
	msgs = nil
	return h, j, &msgs
}

// values returns the job's state and every setting's value.
func values(j *Job) map[string]any {
	out := map[string]any{"state": j.State()}
	for _, s := range fuzzSettings {
		out[s.Name] = j.Value(s.Name)
	}
	return out
}

// FuzzJobSet sends any payload to any setting's /set topic of a running job.
// Nothing panics; a setting changes only to a value its datatype accepts
// (finite, for numbers), and is then published once as that value, which
// reads back the same; a refused value (a bad cast, a setter's error, a
// read-only or unknown setting) changes nothing and publishes nothing; no
// other setting changes.
func FuzzJobSet(f *testing.F) {
	names := []string{"target", "count", "flag", "label", "blob", "fixed", "guarded", "nosuch", "$state", "state", "", "a/b", "+", "#"}
	for _, name := range names {
		for _, v := range hostileValues {
			if name == "label" || len(v) < 1<<10 {
				f.Add(name, []byte(v))
			}
		}
	}
	f.Add("guarded", []byte("10"))
	f.Add("guarded", []byte("10.000000000000002"))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		h, j, msgs := fuzzJob(t)
		before := values(j)
		h.set("pioreactor/unit1/exp1/job/"+name+"/set", string(body))
		after := values(j)
		pubs := *msgs

		leaf := strings.TrimPrefix(name, "$")
		if leaf == "state" {
			checkStateChange(t, before["state"].(State), j.State(), string(body), pubs)
			delete(before, "state")
			delete(after, "state")
		}
		for k, old := range before {
			now := after[k]
			if k != leaf && !reflect.DeepEqual(old, now) {
				t.Fatalf("/set of %q (%.80q) changed another setting, %s: %#v -> %#v", name, body, k, old, now)
			}
		}
		if leaf == "state" {
			return
		}
		var s Setting
		declared := false
		for _, d := range fuzzSettings {
			if d.Name == leaf {
				s, declared = d.Setting, true
			}
		}
		old, now := before[leaf], after[leaf]
		changed := !reflect.DeepEqual(old, now)
		if !declared || !s.Settable {
			if changed || len(pubs) != 0 {
				t.Fatalf("/set of %q (%.80q): not a settable setting, yet it changed (%#v) or published %d messages", name, body, now, len(pubs))
			}
			return
		}
		v, castErr := payload.CastPayload(s.Datatype, string(body))
		refused := castErr != nil || (leaf == "guarded" && v.(float64) > 10)
		if refused && (changed || len(pubs) != 0) {
			t.Fatalf("/set of %s to %.80q must be refused: it changed %#v -> %#v and published %d messages", leaf, body, old, now, len(pubs))
		}
		if x, ok := now.(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
			t.Fatalf("/set of %s to %.80q gave %v", leaf, body, x)
		}
		if len(pubs) == 0 {
			if changed {
				t.Fatalf("/set of %s to %.80q changed it to %#v without publishing it", leaf, body, now)
			}
			return
		}
		want := "pioreactor/unit1/exp1/job/" + leaf
		if len(pubs) != 1 || pubs[0].Topic != want || !pubs[0].Retained {
			t.Fatalf("/set of %s to %.80q published %d messages, first on %s; want one, retained, on %s", leaf, body, len(pubs), pubs[0].Topic, want)
		}
		if got, enc := string(pubs[0].Payload), string(payload.EncodeSetting(now)); got != enc {
			t.Fatalf("/set of %s to %.80q published %.80q, but the value is %#v (%.80q)", leaf, body, got, now, enc)
		}
		if s.Datatype != payload.TypeJSON {
			back, err := payload.CastPayload(s.Datatype, string(pubs[0].Payload))
			if err != nil || !reflect.DeepEqual(back, now) {
				t.Fatalf("/set of %s to %.80q published %.80q, which reads back as %#v (%v), not %#v", leaf, body, pubs[0].Payload, back, err, now)
			}
		}
	})
}

// requestable states, as a person may write them.
var requestableStates = []State{Ready, Sleeping, Disconnected}

// checkStateChange checks the outcome of one $state/set: a job moves only
// to a state a command may ask for (never init or lost), only to the one the
// payload names, and publishes $state exactly when it moves.
func checkStateChange(t *testing.T, from, to State, body string, pubs []pubsub.Message) {
	t.Helper()
	var statePubs []pubsub.Message
	for _, m := range pubs {
		if strings.HasSuffix(m.Topic, "/$state") {
			statePubs = append(statePubs, m)
		}
	}
	if to == from {
		if len(statePubs) != 0 {
			t.Fatalf("$state/set %.80q: state stayed %s but %d $state messages were published", body, from, len(statePubs))
		}
		return
	}
	asked := false
	for _, s := range requestableStates {
		if to == s && strings.EqualFold(strings.TrimSpace(body), string(s)) {
			asked = true
		}
	}
	if !asked {
		t.Fatalf("$state/set %.80q moved the job from %s to %s", body, from, to)
	}
	if len(statePubs) != 1 || string(statePubs[0].Payload) != string(to) {
		t.Fatalf("$state/set %.80q moved the job to %s; published %d $state messages (want one, %s)", body, to, len(statePubs), to)
	}
}

// FuzzStateSet sends any payload to $state/set of a ready or sleeping job:
// nothing panics, init and lost are never taken, and the job moves only to
// the state the payload names, publishing $state when it does.
func FuzzStateSet(f *testing.F) {
	for _, v := range hostileValues {
		if len(v) < 1<<10 {
			f.Add(false, []byte(v))
			f.Add(true, []byte(v))
		}
	}
	f.Add(false, []byte(strings.Repeat(" ", 1<<20)+"sleeping"))
	f.Add(true, []byte("Ready"))
	f.Add(true, []byte("\tready\n"))
	f.Fuzz(func(t *testing.T, sleeping bool, body []byte) {
		h, j, msgs := fuzzJob(t)
		if sleeping {
			j.SetState(Sleeping)
		}
		from := j.State()
		*msgs = nil
		h.set("pioreactor/unit1/exp1/job/$state/set", string(body))
		to := j.State()
		if to == Init || to == Lost {
			t.Fatalf("$state/set %.80q moved the job to %s", body, to)
		}
		checkStateChange(t, from, to, string(body), *msgs)
		if m, ok := h.broker.Retained("pioreactor/unit1/exp1/job/$state"); !ok || string(m.Payload) != string(to) {
			t.Fatalf("$state/set %.80q: the job is %s but the retained $state is %q", body, to, m.Payload)
		}
	})
}
