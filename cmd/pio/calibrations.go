package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/unit"
)

func calibrationsCommand() *cli.Command {
	store := func(c *cli.Context) calibration.Store {
		return calibration.Store{Dir: filepath.Join(unit.Home(c.String("home")), "calibrations")}
	}
	return &cli.Command{
		Name:  "calibrations",
		Usage: "pump calibrations (mL per second of pumping)",
		Subcommands: []*cli.Command{
			{
				Name:  "set",
				Usage: "save a measured pump calibration and make it active",
				Description: "Run the pump for a known time (pio run add_media --duration 10), weigh what moved,\n" +
					"and save the rate: pio calibrations set --device media_pump --ml-per-second 0.52",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "device", Required: true, Usage: "media_pump, alt_media_pump, waste_pump or <device>_pump"},
					&cli.Float64Flag{Name: "ml-per-second", Required: true, Usage: "slope: mL moved per second at --dc"},
					&cli.Float64Flag{Name: "intercept", Usage: "mL moved at zero seconds (from a line fit)"},
					&cli.Float64Flag{Name: "hz", Value: 250, Usage: "PWM frequency the pump runs at"},
					&cli.Float64Flag{Name: "dc", Value: 100, Usage: "PWM duty cycle the pump runs at, percent"},
					&cli.StringFlag{Name: "name", Usage: "calibration name (default: <device>-<date>)"},
				},
				Action: func(c *cli.Context) error {
					now := time.Now().UTC()
					name := c.String("name")
					if name == "" {
						name = c.String("device") + "-" + now.Format("2006-01-02T15-04-05")
					}
					p := calibration.Pump{Name: name, Device: c.String("device"), Slope: c.Float64("ml-per-second"),
						Intercept: c.Float64("intercept"), Hz: c.Float64("hz"), DC: c.Float64("dc"), CreatedAt: now}
					if err := store(c).Save(p); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "saved %s/%s and made it active: %.4f mL/s (+ %.4f mL) at %v Hz, %v%%\n", p.Device, p.Name, p.Slope, p.Intercept, p.Hz, p.DC)
					return nil
				},
			},
			{
				Name:      "show",
				Usage:     "show a device's active calibration",
				ArgsUsage: "DEVICE",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("name one device, e.g. media_pump")
					}
					p, err := store(c).Active(c.Args().First())
					if err != nil {
						return fmt.Errorf("%s: %w", c.Args().First(), err)
					}
					fmt.Fprintf(c.App.Writer, "%s/%s: %.4f mL/s (+ %.4f mL) at %v Hz, %v%%, created %s\n", p.Device, p.Name, p.Slope, p.Intercept, p.Hz, p.DC, p.CreatedAt.Format(time.RFC3339))
					return nil
				},
			},
		},
	}
}
