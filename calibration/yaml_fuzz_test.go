package calibration

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzPumpYAML reads any YAML as a pump calibration file. Nothing panics; a
// calibration that loads passes Validate, converts a vial's volumes and a
// day of pumping to finite numbers, and written and read again, is the same.
func FuzzPumpYAML(f *testing.F) {
	for _, rel := range []string{"media_pump/default_media_pump_cal.yaml", "media_pump/curved.yaml", "od90/od90-2025.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "upstream", rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add([]byte(strings.Replace(string(b), "coefficients:", "coefficients: [1.0e+300, -1.0e+300, 0.5, 0.0]\n  old:", 1)))
	}
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("calibration_type: simple_peristaltic_pump\ncalibration_name: c\nhz: 1\ndc: 1\ncurve_data_: {type: poly, coefficients: [1e-3, -5, 5]}\nrecorded_data: {x: [0, 1e-300], y: [0, 0]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile("f.yaml", data)
		if err != nil {
			return
		}
		p, err := file.Pump("media_pump")
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("loaded %.200q, which Validate refuses: %v", data, err)
		}
		for _, ml := range []float64{0, 0.5, 1, 40} {
			if d := p.MLToDuration(ml); math.IsNaN(d) || math.IsInf(d, 0) {
				t.Fatalf("loaded %.200q, which pumps %v mL in %v s", data, ml, d)
			}
		}
		if ml := p.DurationToML(1); math.IsNaN(ml) {
			t.Fatalf("loaded %.200q, whose second of pumping is %v mL", data, ml)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatalf("loaded %.200q, and could not write it: %v", data, err)
		}
		again, err := ParseFile("again.yaml", b)
		if err != nil {
			t.Fatalf("wrote %q, and could not read it: %v", b, err)
		}
		back, err := again.Pump("media_pump")
		if err != nil {
			t.Fatalf("wrote %q, and could not load it: %v", b, err)
		}
		if !back.CreatedAt.Equal(p.CreatedAt) {
			t.Fatalf("created_at %v written and read as %v", p.CreatedAt, back.CreatedAt)
		}
		back.CreatedAt = p.CreatedAt
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("%+v written as %q and read as %+v", p, b, back)
		}
	})
}
