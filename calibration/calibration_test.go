package calibration

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
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
		{Slope: 1e-300, Hz: 1, DC: 1}, {Slope: 0.000999, Hz: 1, DC: 1}, {Slope: 10.001, Hz: 1, DC: 1},
		{Slope: 1, Intercept: 1e300, Hz: 1, DC: 1}, {Slope: 1, Intercept: -10.5, Hz: 1, DC: 1}, {Slope: 1, Hz: math.Inf(1), DC: 1},
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

func TestValidateRange(t *testing.T) {
	for _, p := range []Pump{
		{Slope: MinSlope, Hz: 250, DC: 100}, {Slope: MaxSlope, Hz: 250, DC: 100}, {Slope: 0.0911, Intercept: -MaxIntercept, Hz: 250, DC: 100},
		DefaultPump("media_pump"),
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	p := Pump{Name: "c", Device: "media_pump", Slope: 1e-300, Hz: 250, DC: 100}
	want := "calibration media_pump/c: slope_ml_per_second=1e-300 is outside 0.001 to 10 mL/s, the range of a pump that doses a vial"
	if err := p.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate: %v, want %s", err, want)
	}
}

// Save refuses names the store could not find again, or that would write
// outside it; Active finds nothing under such names.
func TestStoreNames(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "calibrations")}
	ok := Pump{Name: "media_pump-2026-01-01T00-00-00", Device: "media_pump", Slope: 0.5, Hz: 250, DC: 100}
	for _, tt := range []struct {
		name, device, want string
	}{
		{" ready ", "media_pump", `calibration: name " ready " is not a calibration name (spaces around it)`},
		{"", "media_pump", `calibration: name "" is not a calibration name (want 1 to 100 bytes, got 0)`},
		{"a/b", "media_pump", `calibration: name "a/b" is not a calibration name (a / or \ in it)`},
		{"a\x00b", "media_pump", `calibration: name "a\x00b" is not a calibration name (a control character in it)`},
		{"\xff", "media_pump", `calibration: name "\xff" is not a calibration name (not valid UTF-8)`},
		{strings.Repeat("n", 101), "media_pump", `calibration: name "nnn`},
		{"c", "../x", `calibration: device "../x" is not a device name: want lowercase words joined by _`},
		{"c", "Media_pump", `calibration: device "Media_pump" is not a device name`},
		{"c", "media__pump", `calibration: device "media__pump" is not a device name`},
		{"c", "_pump", `calibration: device "_pump" is not a device name`},
		{"c", "2_pump", `calibration: device "2_pump" is not a device name`},
		{"c", "", `calibration: device "" is not a device name`},
	} {
		p := ok
		p.Name, p.Device = tt.name, tt.device
		if err := s.Save(p); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Save(%q, %q): %v, want %s...", tt.name, tt.device, err, tt.want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(s.Dir)); len(entries) != 0 {
		t.Errorf("refused saves wrote %v", entries)
	}
	for _, dev := range []string{"media_pump", "acid_pump", "pump2"} {
		p := ok
		p.Device = dev
		if err := s.Save(p); err != nil {
			t.Errorf("Save(%s): %v", dev, err)
		}
		if got, err := s.Active(dev); err != nil || got.Name != ok.Name {
			t.Errorf("Active(%s) = %+v, %v", dev, got, err)
		}
	}
	if _, err := s.Active("../calibrations/media_pump"); !errors.Is(err, ErrNoActive) || !strings.Contains(err.Error(), "not a device name") {
		t.Errorf("Active(../calibrations/media_pump): %v, want ErrNoActive saying why", err)
	}
}

// Active reads the active file trimmed, and refuses a file whose name or
// device is not the one it is stored under.
func TestActiveChecksItsFile(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	dev := filepath.Join(s.Dir, "media_pump")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dev, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("active", " c \n")
	for _, tt := range []struct{ file, want string }{
		{`{"calibration_name":"c","device":"media_pump","slope_ml_per_second":0.5,"hz":250,"dc":100}`, ""},
		{`{"calibration_name":" c ","device":"media_pump","slope_ml_per_second":0.5,"hz":250,"dc":100}`, `calibration_name is " c ", want "c", the name of its file`},
		{`{"calibration_name":"c","device":"waste_pump","slope_ml_per_second":0.5,"hz":250,"dc":100}`, `device is "waste_pump", want "media_pump", the directory it is in`},
		{`{"calibration_name":"c","device":"media_pump","slope_ml_per_second":1e-300,"hz":250,"dc":100}`, `calibration media_pump/c: slope_ml_per_second=1e-300 is outside`},
	} {
		write("c.json", tt.file)
		_, err := s.Active("media_pump")
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), filepath.Join(dev, "c.json")+": "+tt.want)) {
			t.Errorf("Active with %s: %v, want %q", tt.file, err, tt.want)
		}
	}
	write("active", "../../x\n")
	if _, err := s.Active("media_pump"); err == nil || !strings.Contains(err.Error(), `name "../../x" is not a calibration name`) {
		t.Errorf("Active with ../../x active: %v", err)
	}
}
