package unit

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/hat"
	"github.com/piolab/pio/hw/hat/pihost"
)

// hardwareOptions is the [hardware] section.
type hardwareOptions struct {
	// Board is auto, hat or simulator.
	Board string
	// Model and ModelVersion name the unit's model ("pioreactor_40ml",
	// "1.5").
	Model, ModelVersion string
}

var (
	modelNameRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	modelVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
)

// readHardware reads [hardware]; env MODEL_NAME and MODEL_VERSION (getenv)
// override the model, as upstream's do for the local unit.
func readHardware(cfg *config.Config, getenv func(string) string) (hardwareOptions, error) {
	sec := cfg.Section("hardware")
	o := hardwareOptions{
		Board:        sec.OneOf("board", "auto", "hat", "simulator"),
		Model:        sec.String("model_name"),
		ModelVersion: sec.String("model_version"),
	}
	if !modelNameRE.MatchString(o.Model) {
		sec.Fail("model_name", "want a model name of letters, digits, _, . and - (like pioreactor_40ml), got %q", o.Model)
	}
	if !modelVersionRE.MatchString(o.ModelVersion) {
		sec.Fail("model_version", "want a version like 1.5, got %q", o.ModelVersion)
	}
	if err := sec.Err(); err != nil {
		return o, err
	}
	if v := getenv("MODEL_NAME"); v != "" {
		if !modelNameRE.MatchString(v) {
			return o, fmt.Errorf("env MODEL_NAME=%q: want a model name of letters, digits, _, . and -", v)
		}
		o.Model = v
	}
	if v := getenv("MODEL_VERSION"); v != "" {
		if !modelVersionRE.MatchString(v) {
			return o, fmt.Errorf("env MODEL_VERSION=%q: want a version like 1.5", v)
		}
		o.ModelVersion = v
	}
	return o, nil
}

// hatRoot is the file system root where the HAT is looked for ("" is "/");
// tests point it at a directory of their own.
var hatRoot = ""

// openBoard opens the board [hardware] board names: the simulated reactor,
// the HAT (an error that says what is missing without one), or, for auto,
// the HAT when one is detected and else the simulated reactor, said in one
// log line at INFO. runDir holds the pin locks; upstream's hardware files
// are read from <home>/hardware.
func openBoard(cfg *config.Config, clk clock.Clock, log *slog.Logger, runDir, home string) (hw.Board, error) {
	o, err := readHardware(cfg, os.Getenv)
	if err != nil {
		return nil, err
	}
	if o.Board == "simulator" {
		return NewSimReactor(cfg, clk, 0)
	}
	b, err := pihost.Open(pihost.Config{
		Root:         hatRoot,
		HardwareDir:  filepath.Join(home, "hardware"),
		Model:        o.Model,
		ModelVersion: o.ModelVersion,
		RunDir:       runDir,
		Clock:        clk,
		Log:          log,
	})
	switch {
	case err == nil:
		log.Info(fmt.Sprintf("using the %s (model %s %s)", b.Name(), o.Model, o.ModelVersion))
		return b, nil
	case errors.Is(err, hat.ErrNoHAT) && o.Board == "auto":
		log.Info(err.Error() + "; using the simulated reactor")
		return NewSimReactor(cfg, clk, 0)
	case errors.Is(err, hat.ErrNoHAT):
		return nil, fmt.Errorf("[hardware] board = %s: %w; board = auto or simulator runs without one", o.Board, err)
	default:
		return nil, fmt.Errorf("[hardware] board = %s: %w", o.Board, err)
	}
}

// OpenBoard opens the board [hardware] board chooses for the unit opts
// names, outside a Machine: for a command that turns off the outputs a
// crashed script's process left on.
func OpenBoard(cfg *config.Config, opts Options, log *slog.Logger) (hw.Board, error) {
	o, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	unitName, _ := Identity(o, opts)
	return openBoard(cfg, clock.Real{}, log, RunDir(unitName), Home(opts.Home))
}

// UsesHAT reports whether the unit opts names would run on the Pioreactor
// HAT ([hardware] board = hat, or auto with a HAT found), without opening
// it: pio self-test then runs on the real board in real time.
func UsesHAT(opts Options) (bool, error) {
	cfg, err := LoadConfig(opts)
	if err != nil {
		return false, err
	}
	o, err := readHardware(cfg, os.Getenv)
	if err != nil {
		return false, err
	}
	switch o.Board {
	case "hat":
		return true, nil
	case "simulator":
		return false, nil
	}
	present, _, _, _ := hat.Detect(hatRoot, os.Getenv)
	return present, nil
}
