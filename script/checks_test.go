package script

import (
	"strings"
	"testing"

	"github.com/piolab/pio/dosing"
)

func TestSettingChecks(t *testing.T) {
	src := `
settings = {"level": 1, "name": "", "target": None}

def check_level(value):
    if value > 10:
        fail("level must be at most 10, got %s" % value)
    return min(value, 5)

def check_name(value):
    if value == "":
        return config_get("dosing_automation.turbidostat", "biomass_signal")

def check_target(value):
    if value == None:
        fail("Provide a target.")

def execute():
    return None
`
	for _, tc := range []struct {
		overrides map[string]string
		want      string // error, or "" and the values below
		level     any
		name      any
	}{
		{map[string]string{"target": "1"}, "", int64(1), "auto"},
		{map[string]string{"target": "1", "level": "7"}, "", int64(5), "auto"},
		{map[string]string{"target": "1", "level": "0.5", "name": "x"}, "", 0.5, "x"},
		{map[string]string{"target": "1", "level": "11"}, "checks: setting level: level must be at most 10, got 11", nil, nil},
		{map[string]string{}, "setting target: Provide a target.", nil, nil},
	} {
		u := newUnit(t)
		s, err := Load("checks.star", []byte(src), "u1", "e1")
		if err != nil {
			t.Fatal(err)
		}
		a, err := dosing.Start(u.env, dosing.Options{Program: s, Overrides: tc.overrides})
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: got %v, want %q", tc.overrides, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.overrides, err)
		}
		if a.Value("level") != tc.level || a.Value("name") != tc.name {
			t.Errorf("%v: level %v (%T), name %v", tc.overrides, a.Value("level"), a.Value("level"), a.Value("name"))
		}
		a.Close()
	}
}

// A check runs on the job's message actor: it may not wait.
func TestSettingChecksMayNotWait(t *testing.T) {
	for _, call := range []string{"latest_od()", "sleep(1)", "add_media(ml=1)"} {
		u := newUnit(t)
		src := "settings = {\"x\": 1.0}\n\ndef check_x(value):\n    " + call + "\n\ndef execute():\n    return None\n"
		s, err := Load("wait.star", []byte(src), "u1", "e1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = dosing.Start(u.env, dosing.Options{Program: s})
		if err == nil || !strings.Contains(err.Error(), "not available in a setting's check function") {
			t.Errorf("%s: got %v", call, err)
		}
	}
}
