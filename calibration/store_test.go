package calibration

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListSetActiveDelete(t *testing.T) {
	s := copyUpstream(t)
	list, err := s.List("media_pump")
	if err != nil || len(list) != 2 || list[0].Name != "curved" || list[1].Name != "default_media_pump_cal" || list[0].Active || list[0].Type != PumpType {
		t.Fatalf("list %+v %v", list, err)
	}
	// An OD calibration is listed and made active; pio does not use it.
	if err := s.SetActive("od90", "od90-2025"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List("od90"); len(list) != 1 || !list[0].Active || list[0].Type != "od" {
		t.Errorf("od90: %+v", list)
	}
	if devs, err := s.Devices(); err != nil || strings.Join(devs, ",") != "media_pump,od90" {
		t.Errorf("devices %v %v", devs, err)
	}
	if err := s.SetActive("media_pump", "nope"); err == nil || !strings.Contains(err.Error(), `media_pump has no calibration "nope"`) {
		t.Errorf("set-active nope: %v", err)
	}
	if err := s.SetActive("media_pump", "curved"); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Active("media_pump"); err != nil || p.Name != "curved" {
		t.Errorf("active %+v %v", p, err)
	}
	// No name clears it, as upstream's set-active without --name.
	if err := s.SetActive("media_pump", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Active("media_pump"); !errors.Is(err, ErrNoActive) {
		t.Errorf("after clearing: %v", err)
	}
	// Deleting the active calibration leaves none active.
	s.SetActive("media_pump", "curved")
	if err := s.Delete("media_pump", "curved"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Active("media_pump"); !errors.Is(err, ErrNoActive) {
		t.Errorf("after deleting the active one: %v", err)
	}
	if err := s.Delete("media_pump", "curved"); err == nil || !strings.Contains(err.Error(), `media_pump has no calibration "curved"`) {
		t.Errorf("delete twice: %v", err)
	}
	if err := s.Delete("media_pump", "../od90/od90-2025"); err == nil {
		t.Error("deleted through a path")
	}
}

// An earlier pio's JSON calibrations under <home>/calibrations keep
// working: active until one is made active in the new store, and migrated
// to YAML when made active.
func TestLegacyJSON(t *testing.T) {
	home := t.TempDir()
	old := Store{Dir: filepath.Join(home, "calibrations")}
	legacyDir := filepath.Join(old.Dir, "media_pump")
	os.MkdirAll(legacyDir, 0o755)
	os.WriteFile(filepath.Join(legacyDir, "old.json"), []byte(`{"calibration_name":"old","device":"media_pump","slope_ml_per_second":0.4,"intercept_ml":0.1,"hz":250,"dc":100,"created_at":"2026-01-01T00:00:00Z"}`), 0o644)
	os.WriteFile(filepath.Join(legacyDir, "active"), []byte("old\n"), 0o644)

	s := NewStore(home)
	p, err := s.Active("media_pump")
	if err != nil || p.Name != "old" || p.Slope != 0.4 || p.Intercept != 0.1 {
		t.Fatalf("legacy active %+v %v", p, err)
	}
	if list, err := s.List("media_pump"); err != nil || len(list) != 1 || !list[0].Legacy || !list[0].Active {
		t.Errorf("list %+v %v", list, err)
	}
	if err := s.Delete("media_pump", "old"); err == nil || !strings.Contains(err.Error(), "is an earlier pio's calibration") {
		t.Errorf("delete legacy: %v", err)
	}
	if err := s.Save(Pump{Name: "new", Device: "media_pump", Slope: 0.5, Hz: 250, DC: 100, Voltage: -1}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Active("media_pump"); p.Name != "new" {
		t.Errorf("a saved calibration is active: %+v", p)
	}
	if _, err := os.Stat(filepath.Join(home, "storage", "calibrations", "media_pump", "new.yaml")); err != nil {
		t.Errorf("saved in upstream's layout: %v", err)
	}
	// Made active again, the JSON one is copied in as YAML.
	if err := s.SetActive("media_pump", "old"); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Active("media_pump"); err != nil || p.Name != "old" || p.Slope != 0.4 {
		t.Errorf("migrated %+v %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(home, "storage", "calibrations", "media_pump", "old.yaml")); err != nil {
		t.Errorf("migrated to YAML: %v", err)
	}
	if list, _ := s.List("media_pump"); len(list) != 2 || list[0].Legacy || list[1].Legacy {
		t.Errorf("after migration the YAML shadows the JSON: %+v", list)
	}
}
