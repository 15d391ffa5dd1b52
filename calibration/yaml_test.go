package calibration

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// copyUpstream copies testdata/upstream (files in upstream's exact format,
// in its layout) into a fresh store directory.
func copyUpstream(t *testing.T) Store {
	t.Helper()
	dir := t.TempDir()
	for _, rel := range []string{"media_pump/default_media_pump_cal.yaml", "media_pump/curved.yaml", "od90/od90-2025.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "upstream", rel))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Store{Dir: dir}
}

// An upstream file copied into place loads unchanged once it is active.
func TestUpstreamFileLoads(t *testing.T) {
	s := copyUpstream(t)
	if _, err := s.Active("media_pump"); !errors.Is(err, ErrNoActive) {
		t.Fatalf("no active calibration yet: %v", err)
	}
	if err := s.SetActive("media_pump", "default_media_pump_cal"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Active("media_pump")
	if err != nil {
		t.Fatal(err)
	}
	want := Pump{Name: "default_media_pump_cal", Device: "media_pump", Slope: 0.0911, Hz: 250, DC: 100, Voltage: -1, Unit: "worker01",
		CreatedAt: time.Date(2025, 1, 15, 10, 20, 30, 0, time.UTC)}
	if !p.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("created_at %v, want %v", p.CreatedAt, want.CreatedAt)
	}
	p.CreatedAt = want.CreatedAt
	if !reflect.DeepEqual(p, want) {
		t.Errorf("loaded %+v\nwant   %+v", p, want)
	}
	if d := p.MLToDuration(0.911); d != 10 {
		t.Errorf("MLToDuration(0.911) = %v, want 10", d)
	}
}

// A curve of degree 2: evaluated forward, solved back within and beyond
// the recorded durations.
func TestUpstreamCurve(t *testing.T) {
	s := copyUpstream(t)
	p, err := s.Pump("media_pump", "curved")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Curve, Poly{0.002, 0.5, 0.1}) || p.Hz != 250 || p.DC != 80 || p.Voltage != 12.1 || len(p.RecordedX) != 5 {
		t.Fatalf("loaded %+v", p)
	}
	// Mean rate over 1..20 s: (p(20) - p(1)) / 19; volume at 0 s: 0.1.
	if want := (0.002*400 + 10 + 0.1 - (0.002 + 0.5 + 0.1)) / 19; math.Abs(p.Slope-want) > 1e-12 || p.Intercept != 0.1 {
		t.Errorf("slope %v intercept %v, want %v and 0.1", p.Slope, p.Intercept, want)
	}
	for _, secs := range []float64{0.5, 1, 3.7, 12, 20, 45, 300} {
		ml := p.DurationToML(secs)
		if want := 0.002*secs*secs + 0.5*secs + 0.1; math.Abs(ml-want) > 1e-9 {
			t.Errorf("DurationToML(%v) = %v, want %v", secs, ml, want)
		}
		if back := p.MLToDuration(ml); math.Abs(back-secs) > 1e-6 {
			t.Errorf("MLToDuration(%v) = %v, want %v", ml, back, secs)
		}
	}
	if d := p.MLToDuration(0.05); d != 0 {
		t.Errorf("a volume below the curve at 0 s: %v s, want 0", d)
	}
	created := time.Date(2025, 3, 2, 9, 0, 0, 123456000, time.UTC)
	if !p.CreatedAt.Equal(created) {
		t.Errorf("created_at %v, want %v", p.CreatedAt, created)
	}
}

// What pio writes is upstream's format, and reads back the same.
func TestMarshalUpstreamFormat(t *testing.T) {
	p := Pump{Name: "media_pump-2026-01-02T03-04-05", Device: "media_pump", Slope: 0.52, Intercept: -0.00001, Hz: 250, DC: 100, Voltage: -1, Unit: "pio01",
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678000, time.UTC), RecordedX: []float64{10, 20}, RecordedY: []float64{5.2, 10.4}}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `calibration_type: simple_peristaltic_pump
calibration_name: media_pump-2026-01-02T03-04-05
calibrated_on_pioreactor_unit: pio01
created_at: 2026-01-02T03:04:05.000678Z
hz: 250.0
dc: 100.0
voltage: -1.0
x: Duration
y: Volume
curve_data_:
  type: poly
  coefficients: [0.52, -1.0e-05]
recorded_data:
  x: [10.0, 20.0]
  y: [5.2, 10.4]
`
	if string(b) != want {
		t.Errorf("marshalled:\n%s\nwant:\n%s", b, want)
	}
	f, err := ParseFile("x.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := f.Pump("media_pump")
	if err != nil {
		t.Fatal(err)
	}
	if !back.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("created_at %v, want %v", back.CreatedAt, p.CreatedAt)
	}
	back.CreatedAt = p.CreatedAt
	if !reflect.DeepEqual(back, p) {
		t.Errorf("read back %+v\nwant       %+v", back, p)
	}
}

func TestPumpFileRefusals(t *testing.T) {
	good := "calibration_type: simple_peristaltic_pump\ncalibration_name: c\ncreated_at: 2025-01-01T00:00:00Z\nhz: 250\ndc: 100\nx: Duration\ny: Volume\ncurve_data_:\n  type: poly\n  coefficients: [0.5, 0.0]\nrecorded_data:\n  x: [1.0, 2.0]\n  y: [0.5, 1.0]\n"
	for _, tt := range []struct{ from, to, want string }{
		{"", "", ""},
		{"simple_peristaltic_pump", "od", `calibration_type is "od"; a pump needs simple_peristaltic_pump`},
		{"type: poly", "type: spline", `curve_data_ type is "spline"; pio evaluates only poly curves`},
		{"hz: 250\n", "", "no hz; a pump calibration has the PWM frequency (hz)"},
		{"dc: 100", "dc: full", "dc is full; want a number"},
		{"dc: 100", "dc: 101", "dc must be within (0, 100], got 101"},
		{"[0.5, 0.0]", "[]", "curve_data_ has 0 coefficients; want 1 to 11"},
		{"[0.5, 0.0]", "[.nan, 0.0]", "coefficient NaN is not a finite number"},
		{"[0.5, 0.0]", "[[1, 2]]", "curve_data_ coefficients: want a list of numbers"},
		{"[0.5, 0.0]", "[0.0, 0.0, 0.5, 0.0]", ""},
		{"[0.5, 0.0]", "[-0.2, 0.5, 0.0]", "the curve does not rise across the recorded durations 1 to 2 s"},
		{"[0.5, 0.0]", "[0.01, 0.5, 0.0]", ""},
		{"[0.5, 0.0]\nrecorded_data:\n  x: [1.0, 2.0]", "[0.01, 0.5, 0.0]\nrecorded_data:\n  x: [1.0, 1.0]", "needs two or more distinct recorded durations"},
		{"[0.5, 0.0]", "[0.01, 0.5, 0.0, 0.0]", ""},
		{"  x: [1.0, 2.0]\n", "  x: [1.0]\n", "recorded_data has 1 x values and 2 y values"},
		{"x: Duration", "x: OD600", `x is "OD600" and y is "Volume"; a pump calibration maps Duration to Volume`},
		{"created_at: 2025-01-01T00:00:00Z", "created_at: yesterday", `created_at "yesterday" is not an ISO 8601 time`},
		{"[0.5, 0.0]", "[0.00001, 0.0]", "slope_ml_per_second=1e-05 is outside 0.001 to 10 mL/s"},
	} {
		text := strings.Replace(good, tt.from, tt.to, 1)
		f, err := ParseFile("c.yaml", []byte(text))
		if err == nil {
			_, err = f.Pump("media_pump")
		}
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%q → %q: %v, want %q", tt.from, tt.to, err, tt.want)
		}
	}
	if _, err := ParseFile("big.yaml", make([]byte, MaxFileBytes+1)); err == nil || !strings.Contains(err.Error(), "above the maximum") {
		t.Errorf("a file over the limit: %v", err)
	}
}

func TestFormatFloat(t *testing.T) {
	for v, want := range map[float64]string{0: "0.0", -1: "-1.0", 0.0911: "0.0911", 1e-05: "1.0e-05", 1.5e+300: "1.5e+300", 250: "250.0", 1e21: "1.0e+21"} {
		if got := formatFloat(v); got != want {
			t.Errorf("formatFloat(%v) = %s, want %s", v, got, want)
		}
	}
}
