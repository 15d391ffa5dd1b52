package script

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/pubsub"
)

const boundedDosing = `api_version = 1
settings = {
    "duration": 20.0,
    "volume": {"default": 0.5, "type": "float", "unit": "mL", "min": 0.1, "max": 5.0},
    "mode": {"default": "fast", "choices": ["fast", "slow"]},
}

def check_volume(v):
    print("check_volume saw " + str(v))

def execute():
    pass
`

// A dosing automation refuses, at start, a --<setting> outside its bounds
// or choices, before anything is published.
func TestDosingBoundsAtStart(t *testing.T) {
	for _, tt := range []struct {
		overrides map[string]string
		want      string
	}{
		{map[string]string{"volume": "9"}, "setting volume (--volume): 9.0 mL is above the maximum, 5.0 mL"},
		{map[string]string{"volume": "0.05"}, "setting volume (--volume): 0.05 mL is below the minimum, 0.1 mL"},
		{map[string]string{"mode": "medium"}, `setting mode (--mode): "medium" is not one of the choices: "fast", "slow"`},
	} {
		u := newUnit(t)
		var published int
		u.broker.Tap = func(string, pubsub.Message) { published++ }
		s, err := Load("bounded.star", []byte(boundedDosing), "u1", "e1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = dosing.Start(u.env, dosing.Options{Program: s, Overrides: tt.overrides})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: err = %v\nwant %s", tt.overrides, err, tt.want)
		}
		if published != 0 {
			t.Errorf("%v: %d messages published for a refused start", tt.overrides, published)
		}
	}
}

// A /set outside a setting's bounds is refused before the script's check
// runs: one ERROR line names the topic, the value and the bound, and
// nothing is published; a value within them is set.
func TestDosingBoundsAtSet(t *testing.T) {
	u := newUnit(t)
	s, err := Load("bounded.star", []byte(boundedDosing), "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	a, err := dosing.Start(u.env, dosing.Options{Program: s})
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	a.Log.OnRecord = func(level, msg string) { logs = append(logs, level+": "+msg) }
	const volume = "pioreactor/u1/e1/dosing_automation/volume"
	var published []string
	u.broker.Tap = func(_ string, m pubsub.Message) {
		if m.Topic == volume && len(m.Payload) > 0 { // empty: the job clears it as it ends
			published = append(published, string(m.Payload))
		}
	}
	ctl := u.broker.Connect(pubsub.Options{ClientID: "ctl"})
	u.clk.At(epoch.Add(time.Minute), func() { ctl.Publish(volume+"/set", []byte("7.5"), 1, false) })
	u.clk.At(epoch.Add(2*time.Minute), func() { ctl.Publish(volume+"/set", []byte("2"), 1, false) })
	u.clk.At(epoch.Add(3*time.Minute), func() {
		ctl.Publish("pioreactor/u1/e1/dosing_automation/mode/set", []byte("medium"), 1, false)
	})
	(&started{a: a}).run(t, u, 5*time.Minute)

	var errs []string
	for _, l := range logs {
		if strings.HasPrefix(l, "ERROR: ") {
			errs = append(errs, l)
		}
	}
	want := []string{
		"ERROR: " + volume + "/set: volume: 7.5 mL is above the maximum, 5.0 mL; volume stays 0.5",
		`ERROR: pioreactor/u1/e1/dosing_automation/mode/set: mode: "medium" is not one of the choices: "fast", "slow"; mode stays fast`,
	}
	if strings.Join(errs, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(published, " ") != "2.0" {
		t.Errorf("published volumes %q, want only 2.0", published)
	}
	var checked []string
	for _, l := range logs {
		if i := strings.Index(l, "check_volume saw "); i >= 0 {
			checked = append(checked, l[i+len("check_volume saw "):])
		}
	}
	if strings.Join(checked, " ") != "2.0" {
		t.Errorf("check_volume saw %q: a value out of bounds must not reach it", checked)
	}
}

const boundedLED = `api_version = 1
automation_type = "led"
settings = {"intensity": {"default": 50, "type": "int", "unit": "%", "min": 0, "max": 100}}

def execute():
    set_led_intensity("B", setting("intensity"))
`

// An LED automation enforces the same bounds at start and on /set.
func TestLEDBounds(t *testing.T) {
	u := newLEDUnit(t)
	err := u.start("bounded", []byte(boundedLED), map[string]string{"intensity": "120"})
	if err == nil || err.Error() != "led_automation: setting intensity (--intensity): 120 % is above the maximum, 100.0 %" {
		t.Fatalf("err = %v", err)
	}
	if u.rec.Len() != 0 {
		t.Errorf("%d messages published for a refused start", u.rec.Len())
	}
	u.mustStart("bounded", []byte(boundedLED), nil)
	logs := &strings.Builder{}
	u.a.Log.OnRecord = func(level, msg string) { logs.WriteString(level + ": " + msg + "\n") }
	before := len(u.rec.Published(u.topic("led_automation", "intensity")))
	u.set("intensity", "-5")
	want := "ERROR: " + u.topic("led_automation", "intensity", "set") + ": intensity: -5 % is below the minimum, 0.0 %; intensity stays 50\n"
	if logs.String() != want {
		t.Errorf("logs %q\nwant %q", logs.String(), want)
	}
	if n := len(u.rec.Published(u.topic("led_automation", "intensity"))); n != before {
		t.Errorf("a refused /set published %d messages", n-before)
	}
	u.set("intensity", "80")
	if got := u.retained("led_automation", "intensity"); got != "80" {
		t.Errorf("intensity %q after /set 80", got)
	}
}

// A custom job enforces the same bounds on /set.
func TestJobBoundsAtSet(t *testing.T) {
	u := newUnit(t)
	path := filepath.Join(t.TempDir(), "probe.star")
	src := "api_version = 1\njob_name = \"probe\"\nsettings = {\"interval\": 60.0, \"level\": {\"default\": 2, \"type\": \"int\", \"min\": 1, \"max\": 3}}\n\ndef run():\n    publish(\"level_seen\", setting(\"level\"))\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	st := startJob(t, u, path, nil)
	ctl := u.broker.Connect(pubsub.Options{ClientID: "ctl"})
	u.clk.At(epoch.Add(90*time.Second), func() { ctl.Publish("pioreactor/u1/e1/probe/level/set", []byte("4"), 1, false) })
	u.clk.At(epoch.Add(150*time.Second), func() { ctl.Publish("pioreactor/u1/e1/probe/level/set", []byte("3"), 1, false) })
	u.clk.RunUntil(context.Background(), epoch.Add(200*time.Second))
	want := "pioreactor/u1/e1/probe/level/set: level: 4 is above the maximum, 3.0; level stays 2"
	if errs := st.errors(); len(errs) != 1 || errs[0] != want {
		t.Errorf("errors %q\nwant %q", errs, want)
	}
	if got := strings.Join(st.payloads("probe/level"), " "); got != "2 3" {
		t.Errorf("level published %q, want 2 3", got)
	}
}
