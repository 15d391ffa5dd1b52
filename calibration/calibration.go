// Package calibration holds pump calibrations: the line that turns seconds of
// pumping into millilitres, and back, as upstream's duration-based protocol
// fits it (volume = slope·seconds + intercept), plus the PWM frequency and
// duty cycle the pump was calibrated at.
//
// Calibrations are JSON files under <home>/calibrations/<device>/<name>.json;
// <home>/calibrations/<device>/active names the active one. A device name is
// lowercase words joined by _ (media_pump, salty_media_pump); a calibration
// name is 1 to 100 bytes of UTF-8 with no spaces around it, no / or \ and
// no control characters. The store saves nothing else, and finds nothing
// else: the names are file names, and a name that is not one would write or
// read outside the store.
//
// A calibration's line must be one a pump of a vial can have (see Validate):
// a slope from MinSlope to MaxSlope mL/s, an intercept within ±MaxIntercept
// mL.
package calibration

import (
	"encoding/json"
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
}

// DefaultPump is upstream's placeholder: 250 Hz, 100 %, 0.0911 mL/s.
func DefaultPump(device string) Pump {
	return Pump{Name: "default", Device: device, Slope: 0.0911, Hz: 250, DC: 100, Default: true}
}

// round10 rounds to 10 decimal places, as upstream does for both directions.
func round10(x float64) float64 { return math.Round(x*1e10) / 1e10 }

// DurationToML is the volume moved in d seconds.
func (p Pump) DurationToML(seconds float64) float64 { return round10(p.Slope*seconds + p.Intercept) }

// MLToDuration is the pumping time for ml millilitres.
func (p Pump) MLToDuration(ml float64) float64 { return round10((ml - p.Intercept) / p.Slope) }

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
// finite, dc within (0, 100].
func (p Pump) Validate() error {
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

// Store is a directory of calibrations.
type Store struct{ Dir string }

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

// Save writes p and makes it the device's active calibration. It refuses a
// calibration Validate refuses, and names CheckDevice or CheckName refuse.
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
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("calibration %s/%s: %w", p.Device, p.Name, err)
	}
	if err := writeAtomic(filepath.Join(dir, p.Name+".json"), b); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "active"), []byte(p.Name+"\n"))
}

// Active returns the device's active calibration, or ErrNoActive. A device
// name CheckDevice refuses has none (the store cannot hold one): the error
// says why and wraps ErrNoActive. The active file is read trimmed, and the
// name in it must pass CheckName; the calibration file must name the same
// calibration and device, and pass Validate.
func (s Store) Active(device string) (Pump, error) {
	if s.Dir == "" {
		return Pump{}, ErrNoActive
	}
	if err := CheckDevice(device); err != nil {
		return Pump{}, fmt.Errorf("%w: %w", ErrNoActive, err)
	}
	activePath := filepath.Join(s.deviceDir(device), "active")
	b, err := os.ReadFile(activePath)
	if os.IsNotExist(err) {
		return Pump{}, ErrNoActive
	}
	if err != nil {
		return Pump{}, fmt.Errorf("calibration: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if err := CheckName(name); err != nil {
		return Pump{}, fmt.Errorf("%s: %w", activePath, err)
	}
	path := filepath.Join(s.deviceDir(device), name+".json")
	b, err = os.ReadFile(path)
	if err != nil {
		return Pump{}, fmt.Errorf("calibration: %w", err)
	}
	var p Pump
	if err := json.Unmarshal(b, &p); err != nil {
		return Pump{}, fmt.Errorf("calibration: %s: %w", path, err)
	}
	switch {
	case p.Name != name:
		return Pump{}, fmt.Errorf("calibration: %s: calibration_name is %q, want %q, the name of its file", path, p.Name, name)
	case p.Device != device:
		return Pump{}, fmt.Errorf("calibration: %s: device is %q, want %q, the directory it is in", path, p.Device, device)
	}
	if err := p.Validate(); err != nil {
		return Pump{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
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
