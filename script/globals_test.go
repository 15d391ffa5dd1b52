package script

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/sched"
)

// Every family reads automation_name, settings, execute() and the checks
// alike, and refuses the same mistakes with the same words.
func TestAutomationGlobalsAreReadAlikeByEveryFamily(t *testing.T) {
	families := map[string]func(src string) error{
		"dosing": func(src string) error { _, err := Load("g.star", []byte(src), "u1", "e1"); return err },
		"led": func(src string) error {
			_, err := LoadLED("g.star", []byte("automation_type = \"led\"\n"+src), "u1", "e1")
			return err
		},
		"temperature": func(src string) error {
			_, err := LoadTemperature("g.star", []byte("automation_type = \"temperature\"\n"+src), "u1", "e1")
			return err
		},
	}
	for _, tc := range []struct{ src, want string }{
		{"automation_name = 3\ndef execute():\n    pass\n", "g.star: automation_name: got int, want a string"},
		{"automation_name = \"Bad Name\"\ndef execute():\n    pass\n", `g.star: automation_name "Bad Name": want lowercase words joined by _`},
		{"execute = 1\n", "g.star: execute must be a function"},
		{"def execute(x):\n    pass\n", "execute() must take no parameters"},
		{"settings = [1]\ndef execute():\n    pass\n", "g.star: settings: got list, want a dict of name: default"},
		{"settings = {1: 2}\ndef execute():\n    pass\n", "g.star: settings: key 1 is not a string"},
		{"settings = {\"state\": 1}\ndef execute():\n    pass\n", `:13: setting name "state"`},
		{"def check_a(v):\n    pass\ndef check_b(v):\n    pass\ndef execute():\n    pass\n", `there is no setting "a" in the settings dict`},
		{"settings = {\"a\": 1}\ncheck_a = 1\ndef execute():\n    pass\n", "g.star: check_a must be a function of one parameter (the value)"},
	} {
		for fam, load := range families {
			if err := load(tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %q: got %v, want %q", fam, tc.src, err, tc.want)
			}
		}
	}
}

func TestSettingsRequiredNumberIsTheSameInEveryFamily(t *testing.T) {
	src := "settings = {\"target\": None, \"n\": 2}\ndef execute():\n    pass\n"
	d, err := Load("g.star", []byte(src), "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := LoadTemperature("g.star", []byte("automation_type = \"temperature\"\n"+src), "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	a, b := d.Settings(), tmp.Settings()
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("settings: %v, %v", a, b)
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Errorf("setting %d: dosing %+v, temperature %+v", i, a[i], b[i])
		}
	}
	if a[0].Default != nil {
		t.Errorf("target: default %v, want none (a required number)", a[0].Default)
	}
}

func TestSleepWithin(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		seconds float64
		want    string        // error, "" for none
		woke    time.Duration // after start
	}{
		{30, "", 30 * time.Second},
		{90, "execute() ran past its limit of 1m0s (max_execute_minutes) and was stopped", time.Minute},
	} {
		clk := sched.NewVirtual(start)
		var err error
		var woke time.Time
		clk.Go("test", func() {
			err = sleepWithin(context.Background(), clk, tc.seconds, start.Add(time.Minute), "execute()", time.Minute)
			woke = clk.Now()
		})
		clk.Run(context.Background())
		if (err == nil) != (tc.want == "") || err != nil && err.Error() != tc.want {
			t.Errorf("sleep %v s: got %v, want %q", tc.seconds, err, tc.want)
		}
		if woke.Sub(start) != tc.woke {
			t.Errorf("sleep %v s: woke after %v, want %v", tc.seconds, woke.Sub(start), tc.woke)
		}
	}
}
