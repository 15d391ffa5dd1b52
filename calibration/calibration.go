// Package calibration holds pump calibrations: the line that turns seconds of
// pumping into millilitres, and back, as upstream's duration-based protocol
// fits it (volume = slope·seconds + intercept), plus the PWM frequency and
// duty cycle the pump was calibrated at.
//
// Calibrations are JSON files under <home>/calibrations/<device>/<name>.json;
// <home>/calibrations/<device>/active names the active one.
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

// Validate checks that the calibration can be used.
func (p Pump) Validate() error {
	switch {
	case !(p.Slope > 0) || math.IsInf(p.Slope, 0):
		return fmt.Errorf("calibration %s/%s: slope must be a positive number of mL/s, got %v", p.Device, p.Name, p.Slope)
	case math.IsNaN(p.Intercept) || math.IsInf(p.Intercept, 0):
		return fmt.Errorf("calibration %s/%s: intercept must be finite", p.Device, p.Name)
	case !(p.Hz > 0):
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

// Save writes p and makes it the device's active calibration.
func (s Store) Save(p Pump) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Name == "" || strings.ContainsAny(p.Name, `/\`) {
		return fmt.Errorf("calibration: bad name %q", p.Name)
	}
	dir := s.deviceDir(p.Device)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	if err := writeAtomic(filepath.Join(dir, p.Name+".json"), b); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "active"), []byte(p.Name+"\n"))
}

// Active returns the device's active calibration, or ErrNoActive.
func (s Store) Active(device string) (Pump, error) {
	if s.Dir == "" {
		return Pump{}, ErrNoActive
	}
	name, err := os.ReadFile(filepath.Join(s.deviceDir(device), "active"))
	if os.IsNotExist(err) {
		return Pump{}, ErrNoActive
	}
	if err != nil {
		return Pump{}, fmt.Errorf("calibration: %w", err)
	}
	path := filepath.Join(s.deviceDir(device), strings.TrimSpace(string(name))+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		return Pump{}, fmt.Errorf("calibration: %w", err)
	}
	var p Pump
	if err := json.Unmarshal(b, &p); err != nil {
		return Pump{}, fmt.Errorf("calibration: %s: %w", path, err)
	}
	return p, p.Validate()
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
