package calibration

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzActive reads any calibration file (and any active name) from a store.
// Nothing panics; a calibration that loads is one Validate accepts, with
// finite numbers and a slope within its physical range; it converts a
// vial's volumes and a day's time to finite ones; it has the active name
// and the device of its directory; and saved again, it loads the same.
func FuzzActive(f *testing.F) {
	good := `{"calibration_name":"c","device":"media_pump","slope_ml_per_second":0.5,"intercept_ml":0.1,"hz":250,"dc":100,"created_at":"2026-01-01T00:00:00Z"}`
	f.Add("c", []byte(good))
	f.Add("c\n", []byte(good))
	f.Add(" ../c ", []byte(good))
	for _, field := range []string{"slope_ml_per_second", "intercept_ml", "hz", "dc"} {
		for _, v := range []string{"1e-300", "1e-12", "1e308", "1e-9", "-1", "0", "5e-324", "1e999", "NaN", "inf", `"1"`, "null", "100.0000001"} {
			f.Add("c", []byte(strings.Replace(good, `"`+field+`":`, `"`+field+`":`+v+`,"x":`, 1)))
		}
	}
	for _, name := range []string{"", "lost", "init", " ready ", "\xff\xfe", "a/b", "\x00", strings.Repeat("n", 1<<20)} {
		f.Add(name, []byte(good))
		f.Add("c", []byte(strings.Replace(good, `"c"`, `"`+name+`"`, 1)))
		f.Add(name, []byte(strings.Replace(good, `"c"`, `"`+name+`"`, 1)))
	}
	f.Add("c", []byte(""))
	f.Add("c", []byte("{}"))
	f.Add("c", []byte(`{"created_at":"lost"}`))
	f.Add("c", []byte(`{"slope_ml_per_second":0.5,"hz":250,"dc":100,"created_at":"9999-12-31T23:59:59.999999999+23:59"}`))
	f.Add("c", []byte(`{"slope_ml_per_second":0.5,"hz":250,"dc":100,"calibration_name":"`+strings.Repeat("\xff", 1<<20)+`"}`))
	f.Fuzz(func(t *testing.T, active string, data []byte) {
		dir := t.TempDir()
		s := Store{Dir: dir}
		dev := filepath.Join(dir, "media_pump")
		if err := os.MkdirAll(dev, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dev, "active"), []byte(active), 0o644); err != nil {
			t.Fatal(err)
		}
		// The calibration file is the one the active file names, when that
		// is a file name in dev; c.json otherwise.
		file := "c"
		if CheckName(strings.TrimSpace(active)) == nil {
			file = strings.TrimSpace(active)
		}
		if err := os.WriteFile(filepath.Join(dev, file+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := s.Active("media_pump")
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("loaded %.200q, which Validate refuses: %v", data, err)
		}
		for name, v := range map[string]float64{"slope": p.Slope, "intercept": p.Intercept, "hz": p.Hz, "dc": p.DC} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("loaded %.200q with %s %v", data, name, v)
			}
		}
		if !(p.Slope >= MinSlope && p.Slope <= MaxSlope) {
			t.Fatalf("loaded %.200q with slope %v, outside %v to %v mL/s", data, p.Slope, MinSlope, MaxSlope)
		}
		// A vial's worth of volume and a day of pumping convert to finite
		// times and volumes.
		for _, ml := range []float64{0, 1, 40} {
			if d := p.MLToDuration(ml); math.IsNaN(d) || math.IsInf(d, 0) {
				t.Fatalf("loaded %.200q, which pumps %v mL in %v s", data, ml, d)
			}
		}
		if ml := p.DurationToML(86400); math.IsNaN(ml) || math.IsInf(ml, 0) {
			t.Fatalf("loaded %.200q, whose day of pumping is %v mL", data, ml)
		}
		if err := CheckName(p.Name); err != nil || p.Name != strings.TrimSpace(active) {
			t.Fatalf("loaded %.200q, named %q, as the active %q (%v)", data, p.Name, active, err)
		}
		if p.Device != "media_pump" {
			t.Fatalf("loaded %.200q, for device %q, as media_pump's", data, p.Device)
		}
		again := Store{Dir: t.TempDir()}
		if err := again.Save(p); err != nil {
			t.Fatalf("loaded %.200q, and could not save it: %v", data, err)
		}
		back, err := again.Active(p.Device)
		if err != nil {
			t.Fatalf("loaded %.200q, saved it, and could not load it again: %.200v", data, err)
		}
		if !back.CreatedAt.Equal(p.CreatedAt) {
			t.Fatalf("created_at %v saved and loaded as %v", p.CreatedAt, back.CreatedAt)
		}
		back.CreatedAt = p.CreatedAt
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("%.200q saved and loaded as %.200q", fmt.Sprintf("%+v", p), fmt.Sprintf("%+v", back))
		}
	})
}
