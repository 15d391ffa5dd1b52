// Package calibration holds pump calibrations: the curve that turns seconds
// of pumping into millilitres, and back, plus the PWM frequency and duty
// cycle the pump was calibrated at. Upstream's duration-based protocol fits
// a line (volume = slope·seconds + intercept); upstream files may also hold
// a polynomial of higher degree, which pio evaluates and solves within the
// durations it was measured over.
//
// Calibrations are upstream's YAML files (see yaml.go and
// docs/calibrations.md) in upstream's layout:
// <home>/storage/calibrations/<device>/<name>.yaml, so an upstream file
// copied into place works unchanged. Upstream keeps which calibration is
// active in a SQLite cache; pio keeps it in
// <home>/storage/calibrations/<device>/active, one name. The JSON files of
// earlier pio versions (<home>/calibrations/<device>/<name>.json, with
// their own active file) still load: see Store.Legacy.
//
// A device name is lowercase words joined by _ (media_pump,
// salty_media_pump); a calibration name is 1 to 100 bytes of UTF-8 with no
// spaces around it, no / or \ and no control characters. The store saves
// nothing else, and finds nothing else: the names are file names, and a
// name that is not one would write or read outside the store.
//
// A calibration's curve must be one a pump of a vial can have (see
// Validate): a rate from MinSlope to MaxSlope mL/s, a volume at zero
// seconds within ±MaxIntercept mL.
package calibration

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Pump is a linear peristaltic pump calibration.
type Pump struct {
	Name      string    `json:"calibration_name"`
	Device    string    `json:"device"`
	Slope     float64   `json:"slope_ml_per_second"`
	Intercept float64   `json:"intercept_ml"`
	Hz        float64   `json:"hz"`
	DC        float64   `json:"dc"`
	CreatedAt time.Time `json:"created_at"`
	// Default marks the built-in placeholder used when none is active; ml
	// requests are refused with it on real hardware.
	Default bool `json:"-"`
	// Curve, when set, is an upstream polynomial of degree 2 or more:
	// volume = Curve.Eval(seconds). It holds over the durations recorded in
	// RecordedX, which it needs. Slope and Intercept are then derived from
	// it for display and limits: its mean rate over the recorded durations
	// and its volume at 0 s. Nil for a line (Slope, Intercept).
	Curve Poly `json:"-"`
	// RecordedX and RecordedY are the measured durations (s) and volumes
	// (mL) the calibration was fitted to; nil when unknown.
	RecordedX []float64 `json:"-"`
	RecordedY []float64 `json:"-"`
	// Unit is the unit the pump was calibrated on
	// (calibrated_on_pioreactor_unit).
	Unit string `json:"-"`
	// Voltage is the pump supply's voltage at calibration; -1 when it was
	// not measured, as upstream writes it.
	Voltage float64 `json:"-"`
}

// DefaultPump is upstream's placeholder: 250 Hz, 100 %, 0.0911 mL/s.
func DefaultPump(device string) Pump {
	return Pump{Name: "default", Device: device, Slope: 0.0911, Hz: 250, DC: 100, Default: true}
}

// round10 rounds to 10 decimal places, as upstream does for both directions.
func round10(x float64) float64 { return math.Round(x*1e10) / 1e10 }

// DurationToML is the volume moved in d seconds: the line, or the curve
// evaluated as numpy.polyval does.
func (p Pump) DurationToML(seconds float64) float64 {
	if p.Curve != nil {
		return round10(p.Curve.Eval(seconds))
	}
	return round10(p.Slope*seconds + p.Intercept)
}

// MLToDuration is the pumping time for ml millilitres. For a line it is
// exact: (ml - Intercept) / Slope. For a curve it is the root of
// curve(t) = ml within the recorded durations, found by bisection (Validate
// makes sure the curve rises there); beyond them, the nearest root outside;
// 0 s for a volume below what the curve gives at 0 s; and, should the curve
// never reach ml (it turns back down), the time at the curve's mean rate
// (ml - Intercept) / Slope.
func (p Pump) MLToDuration(ml float64) float64 {
	if p.Curve == nil {
		return round10((ml - p.Intercept) / p.Slope)
	}
	lo, hi := p.recordedRange()
	t, ok := p.Curve.Solve(ml, lo, hi, 0)
	switch {
	case ok:
		return round10(t)
	case ml < p.Curve.Eval(lo):
		return 0
	}
	return round10((ml - p.Intercept) / p.Slope)
}

// recordedRange is the shortest and longest recorded duration.
func (p Pump) recordedRange() (lo, hi float64) {
	if len(p.RecordedX) == 0 {
		return 0, 0
	}
	lo, hi = p.RecordedX[0], p.RecordedX[0]
	for _, x := range p.RecordedX {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// curveLine is a curve's mean rate over the recorded durations and its
// volume at 0 s (NaN rate without two distinct recorded durations).
func (p Pump) curveLine() (slope, intercept float64) {
	lo, hi := p.recordedRange()
	if !(hi > lo) {
		return math.NaN(), p.Curve.Eval(0)
	}
	return (p.Curve.Eval(hi) - p.Curve.Eval(lo)) / (hi - lo), p.Curve.Eval(0)
}

// curveRises reports whether the curve rises across the recorded durations:
// its slope positive at 257 evenly spaced points from the shortest to the
// longest. A pump moves more the longer it runs; a curve that turns back
// there has no single duration for a volume.
func (p Pump) curveRises() bool {
	lo, hi := p.recordedRange()
	d := p.Curve.Deriv()
	const n = 256
	for i := 0; i <= n; i++ {
		if !(d.Eval(lo+(hi-lo)*float64(i)/n) > 0) {
			return false
		}
	}
	return true
}

// The physical range of a calibration's line.
//
// MinSlope: 0.001 mL/s moves a 40 mL vial in 11 hours; a slower line is a
// typo or a failed fit, and one near 0 turns 1 mL into an endless (or
// infinite) pumping time. MaxSlope: 10 mL/s moves a 20 mL vial in 2 s, and
// a pump reports what it moved every 0.5 s, which must stay well below a
// vial. MaxIntercept: the volume a line gives at zero seconds is a fit's
// small offset, never half of a 20 mL vial.
const (
	MinSlope     = 0.001 // mL/s
	MaxSlope     = 10    // mL/s
	MaxIntercept = 10    // mL, either way
)

// Validate checks that the calibration can be used: a slope from MinSlope
// to MaxSlope mL/s, an intercept within ±MaxIntercept mL, hz positive and
// finite, dc within (0, 100]. A curve must be of degree 2 to MaxDegree with
// finite coefficients, have two or more distinct recorded durations, rise
// across them, and its mean rate and volume at 0 s (Slope, Intercept) are
// checked as a line's are. Recorded durations and volumes must be as many
// and finite.
func (p Pump) Validate() error {
	if err := p.validateCurve(); err != nil {
		return err
	}
	switch {
	case !(p.Slope >= MinSlope && p.Slope <= MaxSlope):
		return fmt.Errorf("calibration %s/%s: slope_ml_per_second=%v is outside %v to %v mL/s, the range of a pump that doses a vial",
			p.Device, p.Name, p.Slope, MinSlope, MaxSlope)
	case !(math.Abs(p.Intercept) <= MaxIntercept):
		return fmt.Errorf("calibration %s/%s: intercept_ml=%v is outside -%v to %v mL, the offset a pump's line may have",
			p.Device, p.Name, p.Intercept, MaxIntercept, MaxIntercept)
	case !(p.Hz > 0) || math.IsInf(p.Hz, 0):
		return fmt.Errorf("calibration %s/%s: hz must be positive, got %v", p.Device, p.Name, p.Hz)
	case !(p.DC > 0 && p.DC <= 100):
		return fmt.Errorf("calibration %s/%s: dc must be within (0, 100], got %v", p.Device, p.Name, p.DC)
	}
	return nil
}

func (p Pump) validateCurve() error {
	where := p.Device + "/" + p.Name
	if len(p.RecordedX) != len(p.RecordedY) || len(p.RecordedX) > MaxRecorded {
		return fmt.Errorf("calibration %s: %d recorded durations and %d recorded volumes; want as many of each, at most %d", where, len(p.RecordedX), len(p.RecordedY), MaxRecorded)
	}
	for i := range p.RecordedX {
		if !finite(p.RecordedX[i]) || !finite(p.RecordedY[i]) {
			return fmt.Errorf("calibration %s: recorded point %d is (%v, %v); want finite numbers", where, i, p.RecordedX[i], p.RecordedY[i])
		}
	}
	if p.Curve == nil {
		return nil
	}
	if deg := p.Curve.Degree(); deg < 2 || deg > MaxDegree || len(p.Curve) > MaxDegree+1 {
		return fmt.Errorf("calibration %s: a curve of %d coefficients (degree %d); want degree 2 to %d, or a line in Slope and Intercept", where, len(p.Curve), deg, MaxDegree)
	}
	for _, c := range p.Curve {
		if !finite(c) {
			return fmt.Errorf("calibration %s: curve coefficient %v is not a finite number", where, c)
		}
	}
	lo, hi := p.recordedRange()
	switch {
	case !(hi > lo):
		return fmt.Errorf("calibration %s: a curve of degree %d needs two or more distinct recorded durations, the range it holds over; got %d points", where, p.Curve.Degree(), len(p.RecordedX))
	case !finite(p.Curve.Eval(lo)) || !finite(p.Curve.Eval(hi)):
		return fmt.Errorf("calibration %s: the curve is not finite over the recorded durations %v to %v s", where, lo, hi)
	case !p.curveRises():
		return fmt.Errorf("calibration %s: the curve does not rise across the recorded durations %v to %v s, so a volume has no single duration", where, lo, hi)
	}
	if slope, intercept := p.curveLine(); slope != p.Slope || intercept != p.Intercept {
		return fmt.Errorf("calibration %s: slope %v and intercept %v are not the curve's mean rate %v and volume at 0 s %v", where, p.Slope, p.Intercept, slope, intercept)
	}
	return nil
}

// Store is a directory of calibrations in upstream's layout:
// Dir/<device>/<name>.yaml, and Dir/<device>/active naming the active one.
// Legacy, if set, is the directory of an earlier pio's JSON calibrations
// (Legacy/<device>/<name>.json and Legacy/<device>/active): a device with
// no active calibration in Dir uses the one active there, read as it is
// (nothing is rewritten until it is made active with SetActive, which
// copies it into Dir as YAML). Files named <name>.json in Dir load too.
type Store struct {
	Dir    string
	Legacy string
}

// NewStore is the store of a pio home: Dir <home>/storage/calibrations, as
// upstream's ~/.pioreactor/storage/calibrations, and Legacy
// <home>/calibrations, where earlier versions kept theirs.
func NewStore(home string) Store {
	return Store{Dir: filepath.Join(home, "storage", "calibrations"), Legacy: filepath.Join(home, "calibrations")}
}

// ErrNoActive means a device has no active calibration.
var ErrNoActive = errors.New("no active calibration")

func (s Store) deviceDir(device string) string { return filepath.Join(s.Dir, device) }

// MaxNameLen is the longest calibration name, in bytes: with ".json" and a
// save's ".tmp", it stays within the 255 bytes of a file name.
const MaxNameLen = 100

// CheckDevice refuses a device name that is not lowercase words joined by _
// (letters and digits, starting with a letter): media_pump, acid_pump.
func CheckDevice(device string) error {
	words := strings.Split(device, "_")
	good := len(device) <= MaxNameLen
	for _, w := range words {
		good = good && w != ""
		for _, c := range w {
			good = good && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
		}
	}
	if !good || !(device[0] >= 'a' && device[0] <= 'z') {
		return fmt.Errorf("calibration: device %q is not a device name: want lowercase words joined by _, at most %d bytes, e.g. media_pump", device, MaxNameLen)
	}
	return nil
}

// CheckName refuses a calibration name that cannot be a file name the store
// finds again: empty, longer than MaxNameLen bytes, not UTF-8, with spaces
// around it (the active file is read trimmed), a / or \, or a control
// character.
func CheckName(name string) error {
	var why string
	switch {
	case name == "" || len(name) > MaxNameLen:
		why = fmt.Sprintf("want 1 to %d bytes, got %d", MaxNameLen, len(name))
	case !utf8.ValidString(name):
		why = "not valid UTF-8"
	case strings.TrimSpace(name) != name:
		why = "spaces around it"
	case strings.ContainsAny(name, `/\`):
		why = `a / or \ in it`
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		why = "a control character in it"
	default:
		return nil
	}
	return fmt.Errorf("calibration: name %q is not a calibration name (%s): it is a file name in the store, e.g. media_pump-2026-01-01", name, why)
}

// Save writes p as Dir/<device>/<name>.yaml, in upstream's format, and
// makes it the device's active calibration. It refuses a calibration
// Validate refuses, and names CheckDevice or CheckName refuse.
func (s Store) Save(p Pump) error {
	if err := CheckDevice(p.Device); err != nil {
		return err
	}
	if err := CheckName(p.Name); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	dir := s.deviceDir(p.Device)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, p.Name+".yaml"), b); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "active"), []byte(p.Name+"\n"))
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	return nil
}
