package dosing

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
)

// hostileValues are values a person or the network has sent a unit: tiny,
// huge and non-finite numbers, states given as settings, padded words,
// empty and invalid-UTF-8 payloads, and a 1 MB string.
var hostileValues = []string{
	"1e-300", "1e-12", "1e308", "1e-9", "-1", "0", "5e-324", "1e999", "0.0166", "0.0167", "43200", "43200.1",
	"NaN", "nan", "inf", "-inf", "0x1p-2", "+1", "01", "9223372036854775808", "1e18", "2.5",
	"lost", "init", " ready ", "True", "yes", "", " ", "\xff\xfe", `{"a":1}`, `null`,
	strings.Repeat("a", 1<<20),
}

// fuzzSettings are the declarations of the program the targets run: one
// setting of each datatype a script may declare.
var fuzzSettings = []SettingDecl{
	{Name: "duration", Datatype: payload.TypeFloat, Default: 5.0},
	{Name: "volume", Datatype: payload.TypeFloat, Default: 1.0},
	{Name: "count", Datatype: payload.TypeInteger, Default: int64(1)},
	{Name: "enabled", Datatype: payload.TypeBoolean, Default: true},
	{Name: "label", Datatype: payload.TypeString, Default: "a"},
}

var fuzzSettingNames = []string{"duration", "volume", "count", "enabled", "label", "nosuch", "", "automation_name", "state"}

// checkPeriod fails unless minutes is a duration whose period is a positive
// time.Duration.
func checkPeriod(t *testing.T, minutes float64, what string) {
	t.Helper()
	ns := minutes * float64(time.Minute)
	if math.IsNaN(ns) || !(ns >= 1 && ns < math.MaxInt64) {
		t.Fatalf("%s: duration %v minutes is accepted, but it is no period (%v ns)", what, minutes, ns)
	}
}

// FuzzSettingValues casts a command-line override (pio run-script --<name>
// <value>) for a program: nothing panics; an override is refused or gives a
// value of its setting's datatype, finite for numbers; duration stays a
// period the schedule can keep; unknown names are refused.
func FuzzSettingValues(f *testing.F) {
	for _, name := range fuzzSettingNames {
		for _, v := range hostileValues {
			f.Add(name, v)
		}
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		p := &fakeProgram{settings: fuzzSettings}
		values, err := settingValues(p, map[string]string{name: value})
		if err != nil {
			return
		}
		declared := false
		for _, d := range fuzzSettings {
			declared = declared || d.Name == name
			v, ok := values[d.Name]
			if !ok {
				t.Fatalf("--%s %.80q: setting %s has no value", name, value, d.Name)
			}
			checkValue(t, d.Datatype, v, "--"+name+" "+value)
		}
		if !declared {
			t.Fatalf("--%s %.80q: an unknown setting was accepted", name, value)
		}
		checkPeriod(t, values["duration"].(float64), "--"+name+" "+value)
	})
}

// checkValue fails unless v is a value of datatype, finite for numbers.
func checkValue(t *testing.T, datatype string, v any, what string) {
	t.Helper()
	switch datatype {
	case payload.TypeFloat:
		f, ok := v.(float64)
		if !ok {
			if _, whole := v.(int64); !whole {
				t.Fatalf("%.100s: float setting holds %#v", what, v)
			}
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			t.Fatalf("%.100s: float setting holds %v", what, f)
		}
	case payload.TypeInteger:
		if _, ok := v.(int64); !ok {
			if f, ok := v.(float64); !ok || math.IsNaN(f) || math.IsInf(f, 0) {
				t.Fatalf("%.100s: integer setting holds %#v", what, v)
			}
		}
	case payload.TypeBoolean:
		if _, ok := v.(bool); !ok {
			t.Fatalf("%.100s: boolean setting holds %#v", what, v)
		}
	case payload.TypeString:
		if _, ok := v.(string); !ok {
			t.Fatalf("%.100s: string setting holds %#v", what, v)
		}
	}
}

// FuzzAutomationSet sends any payload to any setting of a running dosing
// automation over MQTT, then runs it for a virtual minute. Nothing panics;
// every setting keeps a value of its datatype, finite for numbers, and its
// retained topic says that value; a refused value leaves the setting as it
// was; duration stays a period the schedule can keep, and execute() never
// runs more than ten times a virtual second.
func FuzzAutomationSet(f *testing.F) {
	for _, name := range fuzzSettingNames {
		for _, v := range hostileValues {
			if name == "label" || len(v) < 1<<10 {
				f.Add(name, []byte(v))
			}
		}
	}
	f.Add("$state", []byte("lost"))
	f.Add("$state", []byte("init"))
	f.Add("$state", []byte(" ready "))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		h := newHarness(t)
		const window = time.Minute
		const maxRuns = int(window/(100*time.Millisecond)) + 1
		runs := 0
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := &fakeProgram{settings: fuzzSettings, exec: func(context.Context, *Automation) (*payload.Event, error) {
			runs++
			if runs > maxRuns {
				cancel()
			}
			return nil, nil
		}}
		a := h.start(p)
		before := map[string]any{}
		for _, d := range fuzzSettings {
			before[d.Name] = a.Value(d.Name)
		}
		var pubs []pubsub.Message
		tap := h.broker.Tap
		h.broker.Tap = func(client string, m pubsub.Message) {
			tap(client, m)
			if client != "test" && !strings.Contains(m.Topic, "/logs/") {
				pubs = append(pubs, m)
			}
		}
		h.set("pioreactor/unit1/exp1/dosing_automation/"+name+"/set", string(body))
		what := name + "/set " + string(body)
		for _, d := range fuzzSettings {
			v := a.Value(d.Name)
			checkValue(t, d.Datatype, v, what)
			if d.Name != name && !reflect.DeepEqual(v, before[d.Name]) {
				t.Fatalf("%.100s changed %s from %#v to %#v", what, d.Name, before[d.Name], v)
			}
			// An empty payload (an empty string) clears the retained topic.
			m, _ := h.broker.Retained("pioreactor/unit1/exp1/dosing_automation/" + d.Name)
			if string(m.Payload) != string(payload.EncodeSetting(v)) {
				t.Fatalf("%.100s: %s is %#v but its retained topic says %.80q", what, d.Name, v, m.Payload)
			}
		}
		if d := a.Value("duration"); d != nil {
			checkPeriod(t, d.(float64), what)
		}
		if name == "duration" {
			old, now := before["duration"], a.Value("duration")
			cast, err := payload.CastPayload(payload.TypeFloat, string(body))
			if err != nil && !reflect.DeepEqual(old, now) {
				t.Fatalf("%.100s: refused, yet duration changed from %v to %v", what, old, now)
			}
			if refused := reflect.DeepEqual(old, now) && (err != nil || cast != old); refused {
				for _, m := range pubs {
					if strings.HasSuffix(m.Topic, "/duration") {
						t.Fatalf("%.100s: duration stayed %v, yet %.80q was published", what, old, m.Payload)
					}
				}
			}
		}
		h.clk.SetLimit(h.clk.Now().Add(window))
		if err := h.run(a, ctx); err != nil {
			t.Fatalf("%.100s: run: %v", what, err)
		}
		if runs > maxRuns {
			t.Fatalf("%.100s: execute() ran more than %d times in %v (duration %v)", what, maxRuns, window, a.Value("duration"))
		}
	})
}
