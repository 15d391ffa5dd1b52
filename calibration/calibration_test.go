package calibration

import (
	"errors"
	"math"
	"testing"
)

func TestConversions(t *testing.T) {
	p := Pump{Slope: 0.5, Intercept: 0.1, Hz: 250, DC: 100}
	if d := p.MLToDuration(1.1); d != 2 {
		t.Errorf("MLToDuration(1.1) = %v, want 2", d)
	}
	if v := p.DurationToML(2); v != 1.1 {
		t.Errorf("DurationToML(2) = %v, want 1.1", v)
	}
	if v := (Pump{Slope: 1}).DurationToML(1.0 / 3); v != 0.3333333333 {
		t.Errorf("rounded to 10 places: %v", v)
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []Pump{
		{Slope: 0, Hz: 1, DC: 1}, {Slope: -1, Hz: 1, DC: 1}, {Slope: math.NaN(), Hz: 1, DC: 1},
		{Slope: 1, Hz: 0, DC: 1}, {Slope: 1, Hz: 1, DC: 101}, {Slope: 1, Intercept: math.Inf(1), Hz: 1, DC: 1},
	} {
		if p.Validate() == nil {
			t.Errorf("%+v passed validation", p)
		}
	}
}

func TestStore(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if _, err := s.Active("media_pump"); !errors.Is(err, ErrNoActive) {
		t.Fatalf("empty store: %v", err)
	}
	for _, name := range []string{"first", "second"} {
		if err := s.Save(Pump{Name: name, Device: "media_pump", Slope: 0.4, Hz: 250, DC: 100}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Active("media_pump")
	if err != nil || p.Name != "second" || p.Slope != 0.4 {
		t.Errorf("active %+v %v", p, err)
	}
	if err := s.Save(Pump{Name: "../x", Device: "media_pump", Slope: 1, Hz: 1, DC: 1}); err == nil {
		t.Error("a name with a path was accepted")
	}
	if d := DefaultPump("media_pump"); !d.Default || d.Slope != 0.0911 || d.Hz != 250 {
		t.Errorf("default %+v", d)
	}
}
