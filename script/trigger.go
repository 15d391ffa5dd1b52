package script

import (
	"fmt"
	"math"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/readings"
)

// runOn is a script's top-level
//
//	run_on = "normalized_od"      # a reading kind, or
//	run_on = "biomass_signal"     # a string setting whose value is one
//	settling_seconds = 30         # optional: readings ignored after a dose
//
// which makes it event-driven: execute() runs on each live reading of that
// kind instead of on a timer (dosing.Triggered).
type runOn struct {
	kind     readings.Kind
	setting  string // "" for a fixed kind
	settling time.Duration
}

func kindNames() string {
	var names []string
	for _, k := range readings.Kinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// loadRunOn reads run_on and settling_seconds, after the settings.
func (s *Script) loadRunOn(globals starlark.StringDict) error {
	v, ok := globals["run_on"]
	if !ok {
		if _, has := globals["settling_seconds"]; has {
			return fmt.Errorf("%s: settling_seconds is only for scripts that declare run_on", s.file)
		}
		return nil
	}
	str, ok := v.(starlark.String)
	if !ok {
		return fmt.Errorf("%s: run_on: got %s, want a string: a reading (%s) or a string setting's name", s.file, v.Type(), kindNames())
	}
	r := &runOn{}
	if k, ok := readings.ParseKind(string(str)); ok {
		r.kind = k
	} else {
		found := false
		for _, d := range s.settings {
			if d.Name == string(str) && d.Datatype == payload.TypeString {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: run_on %q: want a reading (%s) or the name of a string setting whose value is one", s.file, string(str), kindNames())
		}
		r.setting = string(str)
	}
	if sv, ok := globals["settling_seconds"]; ok {
		f, ok := starlark.AsFloat(sv)
		if !ok || !(f >= 0 && f <= 86400) || math.IsNaN(f) {
			return fmt.Errorf("%s: settling_seconds: want a number of seconds from 0 to 86400, got %s", s.file, sv)
		}
		r.settling = time.Duration(f * float64(time.Second))
	}
	switch {
	case s.execute == nil:
		return fmt.Errorf("%s: run_on needs an execute() function to run", s.file)
	case len(s.handlers) > 0:
		return fmt.Errorf("%s: run_on and handlers exclude each other: an event-driven script runs execute() on its reading", s.file)
	}
	for _, d := range s.settings {
		if d.Name == "duration" {
			return fmt.Errorf("%s: run_on and a duration setting exclude each other: an event-driven script runs on readings, not on a timer", s.file)
		}
	}
	s.runOn = r
	return nil
}

// RunsOnReadings implements dosing.Triggered.
func (s *Script) RunsOnReadings() bool { return s.runOn != nil }

// TriggerKind implements dosing.Triggered.
func (s *Script) TriggerKind(a *dosing.Automation) (readings.Kind, bool) {
	if s.runOn == nil {
		return 0, false
	}
	if s.runOn.setting == "" {
		return s.runOn.kind, true
	}
	v, _ := a.Setting(s.runOn.setting)
	name, _ := v.(string)
	return readings.ParseKind(name)
}

// Settling implements dosing.Triggered.
func (s *Script) Settling() time.Duration {
	if s.runOn == nil {
		return 0
	}
	return s.runOn.settling
}
