package script

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type unit struct {
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	// lastEvent is the last non-empty latest_event published.
	lastEvent string
}

func newUnit(t *testing.T) *unit {
	cfg := config.New()
	cfg.Set("dosing_automation.config", "pause_between_subdoses_seconds", "0.5")
	cfg.Set("dosing_automation.config", "max_script_steps", "1000000")
	u := &unit{clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory()}
	reactor := sim.New(u.clk, sim.Options{Devices: map[int]string{2: "media", 3: "alt_media", 4: "waste", 6: "salty_media"}, PumpMLPerSecond: 1})
	u.env = &runtime.Env{
		Unit: "u1", Experiment: "e1", Sched: u.clk, Board: reactor, Config: cfg,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return u.broker.Connect(o), nil },
		Liquid:  liquid.NewMemStore(),
	}
	if _, err := runtime.StartMonitor(u.env); err != nil {
		t.Fatal(err)
	}
	return u
}

// want reads the "# error: <pattern>" header of a testdata script.
func want(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	w, ok := strings.CutPrefix(strings.TrimSpace(line), "# error: ")
	if !ok {
		t.Fatalf("%s: first line must be # error: <pattern>", path)
	}
	return w
}

func TestLoadErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/load_errors/*.star")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadFile(f, "u1", "e1")
			if err == nil {
				t.Fatal("loaded without error")
			}
			if w := want(t, f); !strings.Contains(err.Error(), w) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, w)
			}
		})
	}
}

// started is a script running as the unit's dosing automation, with the
// log records it has written ("LEVEL: message").
type started struct {
	a    *dosing.Automation
	logs []string
}

func (s *started) errors() []string {
	var out []string
	for _, l := range s.logs {
		if m, ok := strings.CutPrefix(l, "ERROR: "); ok {
			out = append(out, m)
		}
	}
	return out
}

// start loads a script and starts its automation on u, recording its logs
// and its last non-empty latest_event.
func start(t *testing.T, u *unit, path string, overrides map[string]string) *started {
	t.Helper()
	s, err := LoadFile(path, "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	a, err := dosing.Start(u.env, dosing.Options{Program: s, Overrides: overrides})
	if err != nil {
		t.Fatal(err)
	}
	st := &started{a: a}
	a.Log.OnRecord = func(level, msg string) { st.logs = append(st.logs, level+": "+msg) }
	u.broker.Tap = func(_ string, m pubsub.Message) {
		if m.Topic == "pioreactor/u1/e1/dosing_automation/latest_event" && len(m.Payload) > 0 {
			u.lastEvent = string(m.Payload)
		}
	}
	return st
}

// run runs the automation until the virtual clock reaches limit.
func (s *started) run(t *testing.T, u *unit, limit time.Duration) {
	t.Helper()
	u.clk.SetLimit(epoch.Add(limit))
	var err error
	u.clk.Go("automation", func() { err = s.a.Run(context.Background()) })
	u.clk.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
}

// runOnce runs a script (execute() once if it has no duration) and returns
// the errors it logged.
func runOnce(t *testing.T, u *unit, path string, overrides map[string]string) (*dosing.Automation, []string) {
	st := start(t, u, path, overrides)
	st.run(t, u, 3*time.Hour)
	return st.a, st.errors()
}

func TestRunErrorsCarryPositions(t *testing.T) {
	files, _ := filepath.Glob("testdata/run_errors/*.star")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			u := newUnit(t)
			start := time.Now()
			a, errs := runOnce(t, u, f, nil)
			if len(errs) != 1 || a.Errors != 1 {
				t.Fatalf("logged errors %q (count %d), want exactly one", errs, a.Errors)
			}
			re := regexp.MustCompile(want(t, f))
			if !re.MatchString(errs[0]) {
				t.Errorf("error\n  %s\nwant it to match\n  %s", errs[0], re)
			}
			// The error is published as ErrorOccurred with the same message.
			var ev struct {
				Name    string `json:"event_name"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(u.lastEvent), &ev); err != nil || ev.Name != "ErrorOccurred" || ev.Message != errs[0] {
				t.Errorf("latest_event %s", u.lastEvent)
			}
			// Nothing is left running.
			if st := a.State(); st != runtime.Disconnected {
				t.Errorf("state %s", st)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestAPIScripts(t *testing.T) {
	tests := []struct {
		file      string
		overrides map[string]string
	}{
		{"settings_and_store.star", map[string]string{"volume": "0.75"}},
		{"builtins_work.star", nil},
		{"pump_args_by_name.star", nil},
		{"math_json.star", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			u := newUnit(t)
			st := start(t, u, filepath.Join("testdata/api", tt.file), tt.overrides)
			st.run(t, u, time.Hour)
			passed := false
			for _, l := range st.logs {
				passed = passed || strings.HasPrefix(l, "INFO: Pass")
			}
			if st.a.Errors != 0 || !passed {
				t.Errorf("errors %d, passed %v; log:\n%s", st.a.Errors, passed, strings.Join(st.logs, "\n"))
			}
		})
	}
}

func TestPrintAndLogReachMQTT(t *testing.T) {
	u := newUnit(t)
	var logs []string
	sub := u.broker.Connect(pubsub.Options{ClientID: "sub"})
	sub.Subscribe("pioreactor/u1/e1/logs/#", 0, func(m pubsub.Message) {
		logs = append(logs, m.Topic+" "+string(m.Payload))
	})
	runOnceOK(t, u, "testdata/api/builtins_work.star")
	joined := strings.Join(logs, "\n")
	for _, w := range []string{`pioreactor/u1/e1/logs/dosing_automation/info {"message":"print goes to the log"`, `"message":"all builtins ok","level":"INFO","task":"dosing_automation","source":"dosing_automation"`} {
		if !strings.Contains(joined, w) {
			t.Errorf("no log record %s", w)
		}
	}
}

func runOnceOK(t *testing.T, u *unit, path string) {
	a, errs := runOnce(t, u, path, nil)
	if len(errs) != 0 || a.Errors != 0 {
		t.Fatalf("errors: %v", errs)
	}
}

func TestSettingOverridesAreChecked(t *testing.T) {
	tests := []struct {
		overrides map[string]string
		want      string
	}{
		{map[string]string{"volumee": "1"}, `unknown setting "volumee" for settings_and_store (settings: duration, volume, count_to, label, enabled)`},
		{map[string]string{"volume": "lots"}, `setting volume: want a number, got "lots"`},
		{map[string]string{"volume": "NaN"}, `setting volume: want a finite number`},
		{map[string]string{"count_to": "many"}, `setting count_to: want a number, got "many"`},
		{map[string]string{"count_to": "inf"}, `setting count_to: want a finite number`},
		{map[string]string{"enabled": "sure"}, `setting enabled: want a boolean`},
		{map[string]string{"duration": "-1"}, `setting duration: duration must be`},
	}
	for _, tt := range tests {
		u := newUnit(t)
		s, err := LoadFile("testdata/api/settings_and_store.star", "u1", "e1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = dosing.Start(u.env, dosing.Options{Program: s, Overrides: tt.overrides})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.overrides, err, tt.want)
		}
		if _, ok := u.broker.Retained("pioreactor/u1/e1/dosing_automation/$state"); ok {
			t.Errorf("%v: the job was published before the settings were checked", tt.overrides)
		}
	}
}

func TestSetOverMQTTReachesTheScript(t *testing.T) {
	u := newUnit(t)
	st := start(t, u, "testdata/api/settings_and_store.star", nil)
	ctl := u.broker.Connect(pubsub.Options{ClientID: "ctl"})
	// The first run sees volume 0.5 and fails; after the /set, runs pass.
	u.clk.At(epoch.Add(5*time.Minute), func() {
		ctl.Publish("pioreactor/u1/e1/dosing_automation/volume/set", []byte("0.75"), 1, false)
	})
	st.run(t, u, 35*time.Minute)
	errs := st.errors()
	if len(errs) != 1 || !strings.Contains(errs[0], "volume override not seen: 0.5") {
		t.Errorf("errors %q, want one failure before the /set", errs)
	}
	if st.a.Errors != 1 {
		t.Errorf("errors %d", st.a.Errors)
	}
}

func TestEventDataKeepsScriptOrder(t *testing.T) {
	u := newUnit(t)
	runOnceOK(t, u, "testdata/api/event_data_order.star")
	want := `{"event_name":"Ordered","message":"keys in script order","data":{"zeta":1,"alpha":2.5,"mid":{"y":true,"b":null},"list":[3,"x"]}}`
	if u.lastEvent != want {
		t.Errorf("latest_event\n  %s\nwant\n  %s", u.lastEvent, want)
	}
}

// A setting whose default is an int takes any finite number, from the
// command line and over MQTT; whole numbers stay ints, and what is not a
// finite number is refused.
func TestIntSettingTakesAnyNumber(t *testing.T) {
	u := newUnit(t)
	st := start(t, u, "testdata/api/number_settings.star", map[string]string{"pulses": "2.5"})
	ctl := u.broker.Connect(pubsub.Options{ClientID: "ctl"})
	set := func(at time.Duration, v string) {
		u.clk.At(epoch.Add(at), func() {
			ctl.Publish("pioreactor/u1/e1/dosing_automation/pulses/set", []byte(v), 1, false)
		})
	}
	set(5*time.Minute, "4")
	set(15*time.Minute, "0.25")
	set(25*time.Minute, "nan")
	st.run(t, u, 35*time.Minute)
	var seen []string
	for _, l := range st.logs {
		if v, ok := strings.CutPrefix(l, "INFO: pulses="); ok {
			seen = append(seen, v)
		}
	}
	want := []string{"2.5 (float)", "4 (int)", "0.25 (float)", "0.25 (float)"}
	if strings.Join(seen, "; ") != strings.Join(want, "; ") {
		t.Errorf("the script saw pulses %q, want %q", seen, want)
	}
	refused := false
	for _, e := range st.errors() {
		refused = refused || strings.Contains(e, `want a finite number, got "nan"`)
	}
	if !refused || st.a.Errors != 0 {
		t.Errorf("nan not refused clearly (errors %d): %q", st.a.Errors, st.errors())
	}
}

// A pump function that returns None leaves the volume to what its own
// pumps reported (dosing.ErrReturnedNone); any other non-number is an error
// that names the function and the type.
func TestPumpFunctionReturns(t *testing.T) {
	src := []byte(`
def add_salt_to_bioreactor(ml, unit, experiment, source_of_event):
    pass

def add_acid_to_bioreactor(ml, unit, experiment, source_of_event):
    return [ml]

def add_base_to_bioreactor(ml, unit, experiment, source_of_event):
    return ml / 2

def execute(): pass
`)
	s, err := Load("returns.star", src, "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	h := &host{s: s, th: &starlark.Thread{}, unit: starlark.String("u1"), experiment: starlark.String("e1"), source: starlark.String("dosing_automation:returns")}
	call := func(name string) (float64, error) {
		f, ok := s.pumpFunc(h, name)
		if !ok {
			t.Fatalf("no pump function for %s", name)
		}
		return f(context.Background(), 0.5)
	}
	if ml, err := call("salt"); ml != 0 || !errors.Is(err, dosing.ErrReturnedNone) {
		t.Errorf("returned None: got %v, %v; want 0, dosing.ErrReturnedNone", ml, err)
	}
	if _, err := call("acid"); err == nil || !strings.Contains(err.Error(), "add_acid_to_bioreactor returned list; it must return the mL it moved") {
		t.Errorf("returned a list: err = %v", err)
	}
	if ml, err := call("base"); ml != 0.25 || err != nil {
		t.Errorf("returned a number: got %v, %v", ml, err)
	}
}
