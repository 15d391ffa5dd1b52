// Package pihost opens the Pioreactor HAT on a Raspberry Pi: it detects the
// HAT (hat.Detect), loads its hardware layout (hat.LoadLayout), starts
// periph's host drivers, opens I²C bus 1 and the GPIO lines, and builds the
// hat.Board. It is the one package that imports periph.io/x/host: host.Init
// reads /sys and /dev, so nothing else (and no test) calls it.
package pihost

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/hw/hat"
)

// Config says where to look and what to build.
type Config struct {
	// Root is the file system root of the EEPROM and device-tree files
	// ("" is "/"); Getenv reads HARDWARE and HAT_PRESENT (nil: os.Getenv).
	Root   string
	Getenv func(string) string
	// HardwareDir holds upstream's layered YAML files (hats/<M.N>/,
	// models/<name>/<version>/); "" uses the built-in tables only.
	HardwareDir string
	// Model and ModelVersion name the unit's model ("pioreactor_40ml",
	// "1.5"); an empty Model uses the HAT's tables only.
	Model, ModelVersion string
	// RunDir holds the pin locks.
	RunDir string
	Clock  clock.Clock
	Log    *slog.Logger
}

// Detect reports whether cfg's machine has a HAT, as hat.Detect does. A
// missing HAT is an error wrapping hat.ErrNoHAT with the reason.
func Detect(cfg Config) (major, minor int, reason string, err error) {
	present, major, minor, reason := hat.Detect(cfg.Root, cfg.Getenv)
	if !present {
		return 0, 0, reason, fmt.Errorf("%w (%s)", hat.ErrNoHAT, reason)
	}
	return major, minor, reason, nil
}

// Open detects the HAT and opens its board. Without a HAT the error wraps
// hat.ErrNoHAT and gives the reason, before periph's drivers are touched.
func Open(cfg Config) (*hat.Board, error) {
	major, minor, _, err := Detect(cfg)
	if err != nil {
		return nil, err
	}
	layout, err := hat.LoadLayout(cfg.HardwareDir, major, minor, cfg.Model, cfg.ModelVersion)
	if err != nil {
		return nil, err
	}
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("HAT %d.%d: periph's host drivers: %w", major, minor, err)
	}
	bus, err := i2creg.Open("1")
	if err != nil {
		return nil, fmt.Errorf("HAT %d.%d: I²C bus 1: %w; is I²C enabled (dtparam=i2c_arm=on in /boot/firmware/config.txt)?", major, minor, err)
	}
	root := cfg.Root
	if root == "" {
		root = "/"
	}
	b, err := hat.NewBoard(hat.BoardConfig{
		Layout:    layout,
		Bus:       bus,
		OpenPin:   openPin,
		SysfsRoot: filepath.Join(root, "sys/class/pwm"),
		SysfsChip: PWMChip(readTrimmed(root, "proc/device-tree/model"), readTrimmed(root, "proc/sys/kernel/osrelease")),
		RunDir:    cfg.RunDir,
		Clock:     cfg.Clock,
		Log:       cfg.Log,
	})
	if err != nil {
		bus.Close()
		return nil, err
	}
	return b, nil
}

// openPin is a GPIO line by BCM number, as periph's gpioioctl driver
// registers them from the kernel's line names.
func openPin(n int) (gpio.PinIO, error) {
	name := fmt.Sprintf("GPIO%d", n)
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("%s: no such GPIO line (periph found none by that name)", name)
	}
	return p, nil
}

// PWMChip is the kernel PWM chip of GPIO12/13 with the OS image's
// pwm-2chan overlay: pwmchip2 on a Raspberry Pi 5 running a 6.6 kernel,
// pwmchip0 everywhere else (and on every model from kernel 6.12 on).
func PWMChip(model, kernelRelease string) int {
	if strings.HasPrefix(model, "Raspberry Pi 5") && strings.HasPrefix(kernelRelease, "6.6.") {
		return 2
	}
	return 0
}

// readTrimmed reads a device-tree or proc file without its NUL bytes and
// white space; unreadable is "".
func readTrimmed(root, rel string) string {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.Trim(string(b), "\x00"))
}
