package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/runtime"
)

func runCommand() *cli.Command {
	pump := func(name, device string) *cli.Command {
		return &cli.Command{
			Name:  name,
			Usage: fmt.Sprintf("run the %s pump by volume, by time, or until stopped", device),
			Description: "Exactly one of --ml, --duration or --continuously. One dose moves at most a vial, and an\n" +
				"inflow never past the vial's max fill (see docs/scripting.md, Limits). Dosing by mL needs an active\n" +
				"calibration on real hardware (pio calibrations run). Stop a running pump with Ctrl-C or\n" +
				"by publishing `disconnected` to pioreactor/<unit>/<experiment>/" + name + "/$state/set.",
			Flags: append([]cli.Flag{
				&cli.Float64Flag{Name: "ml", Usage: "volume to move, mL (at most the vial's capacity)"},
				&cli.Float64Flag{Name: "duration", Usage: "time to run, seconds (at most what moves the vial's capacity)"},
				&cli.BoolFlag{Name: "continuously", Usage: "run until stopped (inflow stops at the vial's max fill)"},
				&cli.StringFlag{Name: "source-of-event", Value: "CLI", Usage: "source_of_event of the dosing events"},
			}, globalFlagsAfterCommand()...),
			Action: func(c *cli.Context) error {
				req := runtime.PumpRequest{Device: device, SourceOfEvent: c.String("source-of-event"), Continuously: c.Bool("continuously")}
				if c.IsSet("ml") {
					v := c.Float64("ml")
					req.ML = &v
				}
				if c.IsSet("duration") {
					v := c.Float64("duration")
					req.Duration = &v
				}
				// A manual pump is a job of its own on this unit: one at a time,
				// listed and stoppable by pio kill.
				var p *runtime.PumpAction
				err := hostJob(c, func(env *runtime.Env) (runtime.Runner, error) {
					var err error
					p, err = runtime.StartPumpAction(env, req)
					return p, err
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "%s: moved %.4f mL\n", name, p.Moved)
				return nil
			},
		}
	}
	return &cli.Command{
		Name:  "run",
		Usage: "run a job or a manual action on this unit",
		Subcommands: []*cli.Command{
			pump("add_media", "media"),
			pump("add_alt_media", "alt_media"),
			pump("remove_waste", "waste"),
			odReadingCommand(),
			growthRateCommand(),
			stirringCommand(),
			automationCommand("dosing", "dosing_automation", "--automation-name turbidostat --target-biomass 0.8 --exchange-volume-ml 1.0"),
			automationCommand("temperature", "temperature_automation", "--automation-name thermostat --target-temperature 30"),
			automationCommand("led", "led_automation", "--automation-name light_dark_cycle --light-intensity 50 --light-duration-minutes 960 --dark-duration-minutes 480"),
			ledIntensityCommand(),
			experimentProfileCommand(),
		},
	}
}
