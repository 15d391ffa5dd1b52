package unit

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw/hat"
	"github.com/piolab/pio/hw/sim"
)

func TestReadHardware(t *testing.T) {
	noEnv := func(string) string { return "" }
	o, err := readHardware(config.New(), noEnv)
	if err != nil || o != (hardwareOptions{Board: "auto", Model: "pioreactor_40ml", ModelVersion: "1.5"}) {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	cfg := config.New()
	cfg.Set("hardware", "board", "hat")
	cfg.Set("hardware", "model_name", "pioreactor_20ml")
	cfg.Set("hardware", "model_version", "1.0")
	o, err = readHardware(cfg, noEnv)
	if err != nil || o != (hardwareOptions{Board: "hat", Model: "pioreactor_20ml", ModelVersion: "1.0"}) {
		t.Errorf("set: %+v, %v", o, err)
	}
	env := map[string]string{"MODEL_NAME": "pioreactor_20ml_XR", "MODEL_VERSION": "1.5"}
	o, err = readHardware(cfg, func(k string) string { return env[k] })
	if err != nil || o.Model != "pioreactor_20ml_XR" || o.ModelVersion != "1.5" {
		t.Errorf("env MODEL_NAME, MODEL_VERSION: %+v, %v", o, err)
	}
	env = map[string]string{"MODEL_NAME": "../etc"}
	if _, err := readHardware(cfg, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), `MODEL_NAME="../etc"`) {
		t.Errorf("a bad MODEL_NAME: %v", err)
	}
}

// Every key of [hardware] is read: a bad value is refused by name.
func TestHardwareReadsEveryKeyOfItsSection(t *testing.T) {
	if owner := config.OwnedSections["hardware"]; !strings.HasPrefix(owner, "unit") {
		t.Fatalf("[hardware] is owned by %q, want unit", owner)
	}
	keys := config.New().Section("hardware").Keys()
	if len(keys) != 3 {
		t.Errorf("[hardware] keys %v, want board, model_name, model_version", keys)
	}
	for _, key := range keys {
		cfg := config.New()
		cfg.Set("hardware", key, "not a value")
		if _, err := readHardware(cfg, os.Getenv); err == nil || !strings.Contains(err.Error(), "[hardware] "+key+":") {
			t.Errorf("[hardware] %s = not a value: err = %v; want it refused by name", key, err)
		}
	}
}

// noHAT points the detection at an empty root and clears the env overrides.
func noHAT(t *testing.T) {
	t.Helper()
	old := hatRoot
	hatRoot = t.TempDir()
	t.Cleanup(func() { hatRoot = old })
	for _, k := range []string{"HARDWARE", "HAT_PRESENT", "MODEL_NAME", "MODEL_VERSION"} {
		t.Setenv(k, "")
	}
}

func TestOpenBoardAutoWithoutAHAT(t *testing.T) {
	noHAT(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	b, err := openBoard(config.New(), clock.Real{}, log, t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(*sim.Reactor); !ok {
		t.Errorf("board %T, want the simulated reactor", b)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") ||
		!strings.Contains(lines[0], "no Pioreactor HAT found (") || !strings.Contains(lines[0], "proc/device-tree/hat is absent") ||
		!strings.HasSuffix(lines[0], `; using the simulated reactor"`) {
		t.Errorf("log:\n%s\nwant one INFO line: no Pioreactor HAT found (<reason>); using the simulated reactor", buf.String())
	}
}

// This machine (CI) has no HAT: auto falls back with the real root too.
func TestOpenBoardAutoOnThisMachine(t *testing.T) {
	if _, err := os.Stat("/proc/device-tree/hat"); err == nil {
		t.Skip("this machine has a HAT EEPROM")
	}
	for _, k := range []string{"HARDWARE", "HAT_PRESENT"} {
		t.Setenv(k, "")
	}
	var buf bytes.Buffer
	b, err := openBoard(config.New(), clock.Real{}, slog.New(slog.NewTextHandler(&buf, nil)), t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Simulated() || !strings.Contains(buf.String(), "using the simulated reactor") {
		t.Errorf("board %s, log %q", b.Name(), buf.String())
	}
}

func TestOpenBoardHatWithoutOne(t *testing.T) {
	noHAT(t)
	cfg := config.New()
	cfg.Set("hardware", "board", "hat")
	var buf bytes.Buffer
	_, err := openBoard(cfg, clock.Real{}, slog.New(slog.NewTextHandler(&buf, nil)), t.TempDir(), t.TempDir())
	if !errors.Is(err, hat.ErrNoHAT) {
		t.Fatalf("err = %v, want ErrNoHAT", err)
	}
	for _, want := range []string{"[hardware] board = hat: no Pioreactor HAT found (", "proc/device-tree/hat is absent", "board = auto or simulator"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("logged %q; the error says it all", buf.String())
	}
}

func TestOpenBoardSimulator(t *testing.T) {
	t.Setenv("HAT_PRESENT", "1") // even with a HAT claimed, simulator is the simulator
	t.Setenv("HARDWARE", "1.2")
	cfg := config.New()
	cfg.Set("hardware", "board", "simulator")
	var buf bytes.Buffer
	b, err := openBoard(cfg, clock.Real{}, slog.New(slog.NewTextHandler(&buf, nil)), t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(*sim.Reactor); !ok || buf.Len() != 0 {
		t.Errorf("board %T, log %q; want the simulated reactor, silently", b, buf.String())
	}
}

func TestOpenBoardBadConfig(t *testing.T) {
	cfg := config.New()
	cfg.Set("hardware", "board", "pi")
	_, err := openBoard(cfg, clock.Real{}, slog.New(slog.DiscardHandler), t.TempDir(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `[hardware] board: want one of auto, hat, simulator, got "pi"`) {
		t.Errorf("err = %v", err)
	}
}
