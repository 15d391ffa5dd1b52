package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/unit"
)

func calibrationsCommand() *cli.Command {
	return &cli.Command{
		Name:  "calibrations",
		Usage: "calibrations in upstream's YAML format: pump curves (mL for seconds of pumping), OD, stirring",
		Description: "Calibrations are upstream's YAML files in <home>/storage/calibrations/<device>/<name>.yaml, one\n" +
			"active per device (docs/calibrations.md). An upstream file copied into place works once it is made active.",
		Subcommands: []*cli.Command{
			calibrationsRunCommand(),
			calibrationsListCommand(),
			calibrationsDisplayCommand(),
			calibrationsSetActiveCommand(),
			calibrationsDeleteCommand(),
			{
				Name:  "set",
				Usage: "save a measured pump rate as a calibration and make it active",
				Description: "Run the pump for a known time (pio run add_media --duration 10), weigh what moved,\n" +
					"and save the rate: pio calibrations set --device media_pump --ml-per-second 0.52\n" +
					"(pio calibrations run --device media_pump walks through several runs and fits the line).",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "device", Required: true, Usage: "media_pump, alt_media_pump, waste_pump or <device>_pump"},
					&cli.Float64Flag{Name: "ml-per-second", Required: true, Usage: "slope: mL moved per second at --dc"},
					&cli.Float64Flag{Name: "intercept", Usage: "mL moved at zero seconds (from a line fit)"},
					&cli.Float64Flag{Name: "hz", Value: 250, Usage: "PWM frequency the pump runs at"},
					&cli.Float64Flag{Name: "dc", Value: 100, Usage: "PWM duty cycle the pump runs at, percent"},
					&cli.StringFlag{Name: "name", Usage: "calibration name (default: <device>-<date>)"},
				},
				Action: func(c *cli.Context) error {
					now := time.Now().UTC().Truncate(time.Microsecond)
					name := c.String("name")
					if name == "" {
						name = c.String("device") + "-" + now.Format("2006-01-02T15-04-05")
					}
					p := calibration.Pump{Name: name, Device: c.String("device"), Slope: c.Float64("ml-per-second"),
						Intercept: c.Float64("intercept"), Hz: c.Float64("hz"), DC: c.Float64("dc"), CreatedAt: now, Voltage: -1}
					if err := store(c).Save(p); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "saved %s/%s and made it active: %.4f mL/s (+ %.4f mL) at %v Hz, %v%%\n", p.Device, p.Name, p.Slope, p.Intercept, p.Hz, p.DC)
					return nil
				},
			},
			{
				Name:  "show",
				Usage: "show the calibration a device's pump runs with",
				Description: "Shows the active calibration; with none, what the pump runs with instead: on the\n" +
					"simulated board, its factory calibration ([simulation] pump_ml_per_second), marked\n" +
					"factory; on hardware, upstream's placeholder (0.0911 mL/s), marked default, with which\n" +
					"dosing by mL is refused.",
				ArgsUsage: "DEVICE (media_pump, alt_media_pump, waste_pump or <device>_pump)",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("name one device, e.g. media_pump")
					}
					return showCalibration(c, store(c), c.Args().First())
				},
			},
		},
	}
}

// showCalibration prints the calibration a device's pump runs with, as
// runtime.Env.PumpCalibration resolves it, and where it comes from.
func showCalibration(c *cli.Context, st calibration.Store, name string) error {
	device := strings.TrimSuffix(name, "_pump")
	cfg, err := unit.LoadConfig(unitOptions(c, nil))
	if err != nil {
		return err
	}
	o, err := cfg.Options()
	if err != nil {
		return err
	}
	// The board pio runs on (unit.Open): the simulated reactor until a
	// hardware board is configured.
	board, err := unit.NewSimReactor(cfg, clock.Real{}, 0)
	if err != nil {
		return err
	}
	env := &runtime.Env{Board: board, Config: cfg, Calibrations: st}
	p, err := env.PumpCalibration(device)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%s/%s: %.4f mL/s (+ %.4f mL) at %v Hz, %v%%", p.Device, p.Name, p.Slope, p.Intercept, p.Hz, p.DC)
	if p.Curve != nil {
		fmt.Fprintf(w, " (mean rate of the curve %s)", curveText(p.Curve))
	}
	_, activeErr := st.Active(p.Device)
	setHint := fmt.Sprintf("pio calibrations run --device %s` (or `pio calibrations set --device %s --ml-per-second <measured rate>", p.Device, p.Device)
	switch {
	case activeErr == nil:
		fmt.Fprintf(w, ", created %s (active)\n", p.CreatedAt.Format(time.RFC3339))
	case p.Default:
		fmt.Fprintf(w, " (default: no active calibration, so upstream's placeholder, with which dosing by mL is refused on hardware; run `%s`)\n", setHint)
	default:
		fmt.Fprintf(w, " (factory: no active calibration, so the %s's own, [simulation] pump_ml_per_second; to use a measured one, run `%s`)\n", board.Name(), setHint)
	}
	if _, ok := o.PWMChannel(device); !ok {
		fmt.Fprintf(w, "note: no [PWM] channel is assigned to %q, so this pump cannot run; add `<channel>=%s` to the [PWM] config section\n", device, device)
	}
	return nil
}

// store is the calibration store of the command's home: upstream's layout
// under <home>/storage/calibrations, and an earlier pio's JSON files under
// <home>/calibrations.
func store(c *cli.Context) calibration.Store {
	return calibration.NewStore(unit.Home(appContext(c).String("home")))
}
