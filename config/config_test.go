package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// options parses c's options, failing the test on an error.
func options(t *testing.T, c *Config) Options {
	t.Helper()
	o, err := c.Options()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestDefaults(t *testing.T) {
	c := New()
	o := options(t, c)
	if ch, ok := o.PWMChannel("media"); !ok || ch != 2 {
		t.Errorf("media on channel %d %v, want 2", ch, ok)
	}
	if _, ok := o.PWMChannel("vinegar"); ok {
		t.Error("an unwired device has a channel")
	}
	if f := o.Dosing.MaxSubdoseML; f != 1 {
		t.Errorf("max_subdose %v", f)
	}
	if o.MQTT.Addr() != "127.0.0.1:1883" {
		t.Errorf("broker %s", o.MQTT.Addr())
	}
	m := o.Bioreactor.Model
	if m.MaxFillML != 36 || m.CapacityML != 40 || math.Abs(m.WarnML()-34.2) > 1e-9 {
		t.Errorf("model %+v", m)
	}
	if file, line, ok := c.Source("bioreactor", "model"); file != SourceDefaults || line == 0 || !ok {
		t.Errorf("Source(bioreactor, model) = %s %d %v", file, line, ok)
	}
	if len(c.Sources()) != 0 {
		t.Errorf("sources %v", c.Sources())
	}
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLayeringAndErrors(t *testing.T) {
	dir := t.TempDir()
	shared := write(t, dir, "config.ini", "[PWM]\n2=waste\n4=media\n[mqtt]\nbroker_address=leader.local;backup\nbroker_port=1884\n[bioreactor]\nmodel=pioreactor_20ml\n[dosing_automation.config]\nmax_subdose=2\nwaste_removal_multiplier=3\n")
	local := write(t, dir, "unit_config.ini", "# unit override\n[dosing_automation.config]\nmax_subdose = 0.5\nKp=1\n")
	c, err := Load(shared, local, filepath.Join(dir, "missing.ini"), "")
	if err != nil {
		t.Fatal(err)
	}
	o := options(t, c)
	if ch, _ := o.PWMChannel("media"); ch != 4 {
		t.Errorf("media on %d, want 4", ch)
	}
	if o.MQTT.Addr() != "leader.local:1884" {
		t.Errorf("broker %s", o.MQTT.Addr())
	}
	if m := o.Bioreactor.Model; m.MaxFillML != 18 {
		t.Errorf("model %+v", m)
	}
	if _, ok := c.Get("dosing_automation.config", "kp"); ok {
		t.Error("keys must be case-sensitive")
	}
	if v, _ := c.Get("dosing_automation.config", "Kp"); v != "1" {
		t.Errorf("Kp = %q", v)
	}
	if f := o.Dosing.MaxSubdoseML; f != 0.5 {
		t.Errorf("unit_config.ini did not override: %v", f)
	}
	if f := o.Dosing.WasteRemovalMultiplier; f != 3 {
		t.Errorf("config.ini's key lost: %v", f)
	}
	for _, tc := range []struct {
		key, file string
		line      int
	}{{"max_subdose", local, 3}, {"waste_removal_multiplier", shared, 11}, {"pause_between_subdoses_seconds", SourceDefaults, 0}} {
		file, line, _ := c.Source("dosing_automation.config", tc.key)
		if file != tc.file || tc.line != 0 && line != tc.line {
			t.Errorf("Source(%s) = %s:%d, want %s:%d", tc.key, file, line, tc.file, tc.line)
		}
	}
	if got := c.Sources(); len(got) != 2 || got[0] != shared || got[1] != local {
		t.Errorf("sources %v", got)
	}

	bad := write(t, dir, "bad.ini", "[mqtt]\nbroker_port=1\n[broken\n")
	if _, err := Load(bad); err == nil || err.Error() != bad+`:3: section header without ]: "[broken"` {
		t.Errorf("malformed file: %v", err)
	}
	c.Set("dosing_automation.config", "max_subdose", "lots")
	if _, err := c.Options(); err == nil ||
		err.Error() != `override: [dosing_automation.config] max_subdose: want a positive number, got "lots"` {
		t.Errorf("malformed number: %v", err)
	}
	if file, _, _ := c.Source("dosing_automation.config", "max_subdose"); file != SourceOverride {
		t.Errorf("Set's source is %q", file)
	}
	c.Set("bioreactor", "model", "pioreactor_1l")
	if _, err := c.Model(); err == nil || !strings.Contains(err.Error(), `[bioreactor] model: want a known model (pioreactor_20ml, pioreactor_20ml_XR, pioreactor_40ml, pioreactor_40ml_XR), got "pioreactor_1l"`) {
		t.Errorf("unknown model: %v", err)
	}
}

func TestEmptyMeansDefault(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(write(t, dir, "config.ini", "[mqtt]\nbroker_address=\nbroker_port=\n[bioreactor]\nmodel=\n[cluster.topology]\nexperiment=\n"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Options()
	if err != nil || o.Unit.Experiment != "exp0" || o.MQTT.Addr() != "127.0.0.1:1883" || o.Bioreactor.Model.Name != "pioreactor_40ml" {
		t.Errorf("Options: %+v %v", o, err)
	}
}

func TestPWMChannel(t *testing.T) {
	for _, tc := range []struct {
		name, pwm, device string
		want              int
	}{
		{"a default", "", "acid", 7},
		{"a file moves a device off its default channel", "[PWM]\n8=acid\n", "acid", 8},
		{"the lowest of a file's channels", "[PWM]\n9=acid\n8=acid\n", "acid", 8},
		{"an empty device unwires the channel", "[PWM]\n7=\n", "acid", 0},
		{"a swap", "[PWM]\n2=waste\n4=media\n", "waste", 2},
	} {
		c := New()
		if tc.pwm != "" {
			if err := c.merge("config.ini", []byte(tc.pwm)); err != nil {
				t.Fatal(err)
			}
		}
		wires, _ := c.pwm() // even where Options refuses the file (a device on two channels)
		if ch, ok := wires[tc.device]; ch != tc.want || ok != (tc.want != 0) {
			t.Errorf("%s: channel of %q = %d %v; want %d", tc.name, tc.device, ch, ok, tc.want)
		}
	}
}

func TestOptionsAreParsedOnceUntilSet(t *testing.T) {
	c := New()
	a, _ := c.Options()
	b, _ := c.Options()
	if a.Dosing.MaxSubdoseML != 1 || fmt.Sprintf("%p", a.PWM) != fmt.Sprintf("%p", b.PWM) {
		t.Fatalf("options parsed twice, or wrong: %+v", a.Dosing)
	}
	c.Set("dosing_automation.config", "max_subdose", "0.25")
	if o, err := c.Options(); err != nil || o.Dosing.MaxSubdoseML != 0.25 {
		t.Errorf("after Set: max_subdose %v, %v; want 0.25", o.Dosing.MaxSubdoseML, err)
	}
}
