package pihost

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/hw/hat"
)

func TestPWMChip(t *testing.T) {
	for _, tt := range []struct {
		model, release string
		want           int
	}{
		{"Raspberry Pi 5 Model B Rev 1.0", "6.6.51+rpt-rpi-2712", 2},
		{"Raspberry Pi 5 Model B Rev 1.0", "6.12.25+rpt-rpi-2712", 0},
		{"Raspberry Pi 4 Model B Rev 1.4", "6.6.51+rpt-rpi-v8", 0},
		{"Raspberry Pi 3 Model B Plus Rev 1.3", "6.1.21-v7+", 0},
		{"", "", 0},
	} {
		if got := PWMChip(tt.model, tt.release); got != tt.want {
			t.Errorf("PWMChip(%q, %q) = %d, want %d", tt.model, tt.release, got, tt.want)
		}
	}
}

// Without a HAT, Open returns ErrNoHAT with the reason, and never reaches
// periph's host drivers (the test machine has no /dev/i2c-1 to open).
func TestOpenWithoutAHAT(t *testing.T) {
	_, err := Open(Config{Root: t.TempDir(), Getenv: func(string) string { return "" }, RunDir: t.TempDir()})
	if !errors.Is(err, hat.ErrNoHAT) {
		t.Fatalf("Open = %v, want ErrNoHAT", err)
	}
	if !strings.Contains(err.Error(), "proc/device-tree/hat is absent") {
		t.Errorf("error %q gives no reason", err)
	}
}

// A layout error is reported before periph's drivers start.
func TestOpenBadLayout(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "hats/1.2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hats/1.2/pwm.yaml"), []byte("controller: hat_mcu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HAT_PRESENT": "1", "HARDWARE": "1.2"}
	_, err := Open(Config{Root: t.TempDir(), Getenv: func(k string) string { return env[k] }, HardwareDir: dir, RunDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "hat_mcu") {
		t.Fatalf("Open = %v, want the layout's error", err)
	}
}
