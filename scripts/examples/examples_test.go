// Package examples_test runs every example automation under the simulator, so
// that the examples cannot rot.
package examples_test

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/scripttest"
	"github.com/piolab/pio/simulate"
)

func simulateExample(t *testing.T, file string, d time.Duration, record *bytes.Buffer) *simulate.Summary {
	t.Helper()
	o := simulate.Options{Script: file, For: d, Seed: 7}
	if record != nil {
		o.Record = record
	}
	sum, err := simulate.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// scripts are the examples: every .star file but the tests (*_test.star).
func scripts() []string {
	files, _ := filepath.Glob("*.star")
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.star") {
			out = append(out, f)
		}
	}
	return out
}

func TestEveryExampleRunsADayWithoutErrors(t *testing.T) {
	files := scripts()
	if len(files) < 3 {
		t.Fatalf("found %d examples", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			s := simulateExample(t, f, 24*time.Hour, nil)
			if s.Errors != 0 {
				t.Fatalf("errors %d %q", s.Errors, s.ErrorMessages)
			}
			if s.AutomationJob == "dosing_automation" && s.Doses == 0 {
				t.Fatalf("a dosing automation that never dosed in 24 h")
			}
			if s.FinalState != "disconnected" {
				t.Errorf("final state %q", s.FinalState)
			}
			if s.Reactor.OverflowML > 0 {
				t.Errorf("the simulated vial overflowed by %v mL", s.Reactor.OverflowML)
			}
			// Balanced exchanges keep the model, and the vial, at the efflux tube.
			if math.Abs(s.Model.CurrentVolumeML-14) > 1e-9 || math.Abs(s.Reactor.VolumeML-14) > 0.05 {
				t.Errorf("model volume %v, simulated %v; want 14", s.Model.CurrentVolumeML, s.Reactor.VolumeML)
			}
		})
	}
}

func TestThreePumpsDosesWhatItSays(t *testing.T) {
	s := simulateExample(t, "three_pumps.star", 24*time.Hour, nil)
	if s.Doses != 72 {
		t.Errorf("%d doses in 24 h at 20 min, want 72", s.Doses)
	}
	for _, e := range []string{"add_media", "add_alt_media", "add_salty_media"} {
		if got := s.EventML[e]; math.Abs(got-72*0.5) > 1e-6 {
			t.Errorf("%s: %v mL, want 36", e, got)
		}
	}
	// waste = requested + 2x extra
	if got := s.EventML["remove_waste"]; math.Abs(got-72*1.5*3) > 1e-6 {
		t.Errorf("remove_waste: %v mL, want 324", got)
	}
	if got, want := s.Model.CumMediaML, 36.0; math.Abs(got-want) > 1e-6 {
		t.Errorf("cumulative media %v, want %v", got, want)
	}
}

func TestSimulationIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	simulateExample(t, "custom_pumper.star", 6*time.Hour, &a)
	simulateExample(t, "custom_pumper.star", 6*time.Hour, &b)
	if a.Len() == 0 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two runs with the same seed differ (%d and %d bytes)", a.Len(), b.Len())
	}
}

// TestCompanionTests runs the tests that travel with the examples
// (turbidostat_test.star, ...) as pio scripts test does.
func TestCompanionTests(t *testing.T) {
	files, _ := filepath.Glob("*_test.star")
	if len(files) < 3 {
		t.Fatalf("found %d test files", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			var out bytes.Buffer
			rep, err := scripttest.Run(context.Background(), f, scripttest.Options{Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed() > 0 {
				t.Errorf("pio scripts test %s:\n%s", f, out.String())
			}
		})
	}
}
