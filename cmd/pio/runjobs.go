package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/growthrate"
	"github.com/piolab/pio/odreading"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/stirring"
	"github.com/piolab/pio/unit"
)

// jobCommand is `pio run <job>`: it opens the unit, makes sure its monitor
// runs, starts the job with start, and hosts it until Ctrl-C, SIGTERM,
// `pio kill <job>` or $state/set = disconnected.
func jobCommand(name, usage, description string, flags []cli.Flag, start func(c *cli.Context, env *runtime.Env) (runtime.Runner, error)) *cli.Command {
	return &cli.Command{
		Name: name, Usage: usage, Description: description,
		Flags: append(flags, globalFlagsAfterCommand()...),
		Action: func(c *cli.Context) error {
			return hostJob(c, func(env *runtime.Env) (runtime.Runner, error) { return start(c, env) })
		},
	}
}

// hostJob opens the unit, makes sure its monitor runs, starts a job on it
// with start, and hosts the job until it ends. Run by the unit's daemon,
// it hosts the job on the daemon's machine instead.
func hostJob(c *cli.Context, start func(env *runtime.Env) (runtime.Runner, error)) error {
	uo := unitOptions(appContext(c), localGlobalFlags(c))
	if h := hostOf(c.Context); h != nil {
		return h.run(c.Context, uo.Experiment, start)
	}
	m, err := unit.Open(uo)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.EnsureMonitor(); err != nil {
		return err
	}
	job, err := start(m.Env)
	if err != nil {
		return err
	}
	return m.RunJob(c.Context, job)
}

// floatFlag returns a flag's value if it was given.
func floatFlag(c *cli.Context, name string) *float64 {
	if !c.IsSet(name) {
		return nil
	}
	v := c.Float64(name)
	return &v
}

func boolFlagSet(c *cli.Context, name string) *bool {
	if !c.IsSet(name) {
		return nil
	}
	v := c.Bool(name)
	return &v
}

func odReadingCommand() *cli.Command {
	return jobCommand(odreading.JobName, "read optical density from the photodiodes",
		"Takes a reading every 1/samples_per_second seconds ([od_reading.config]; 5 s by default) and publishes\n"+
			"od_reading/ods, od1..od4 and ir_led_intensity (docs/od_reading.md).",
		[]cli.Flag{
			&cli.Float64Flag{Name: "interval", Usage: "seconds between readings", DefaultText: "1 / [od_reading.config] samples_per_second"},
			&cli.Float64Flag{Name: "ir-led-intensity", Usage: "IR LED intensity, percent", DefaultText: "[od_reading.config] ir_led_intensity"},
			&cli.BoolFlag{Name: "snapshot", Usage: "take one reading, publish it and stop"},
		},
		func(c *cli.Context, env *runtime.Env) (runtime.Runner, error) {
			// The experiment's first REF reading and its blank outlive the job.
			cache := odreading.NewFileCache(filepath.Join(unit.Home(unitOptions(appContext(c), localGlobalFlags(c)).Home), "cache"))
			return odreading.Start(env, odreading.Options{Interval: floatFlag(c, "interval"),
				IRLEDIntensity: floatFlag(c, "ir-led-intensity"), Snapshot: c.Bool("snapshot"), Cache: cache})
		})
}

func growthRateCommand() *cli.Command {
	cmd := jobCommand(growthrate.JobName, "estimate the growth rate from the OD readings",
		"Filters od_reading/ods with upstream's growth-rate filter and publishes growth_rate and od_filtered\n"+
			"(docs/growth_rate.md). `pio run growth_rate_calculating clear_cache` forgets the experiment's\n"+
			"normalisation, so the next start learns it again.",
		nil,
		func(c *cli.Context, env *runtime.Env) (runtime.Runner, error) {
			return growthrate.Start(env, growthrate.Options{})
		})
	cmd.Subcommands = []*cli.Command{{
		Name:  "clear_cache",
		Usage: "forget the experiment's OD normalisation factors",
		Flags: globalFlagsAfterCommand(),
		Action: func(c *cli.Context) error {
			uo := unitOptions(appContext(c), localGlobalFlags(c))
			env, err := unit.OfflineEnv(uo)
			if err != nil {
				return err
			}
			if err := growthrate.DefaultCache(env).Delete(env.Experiment); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "cleared the OD normalisation of experiment %s\n", env.Experiment)
			return nil
		},
	}}
	return cmd
}

func stirringCommand() *cli.Command {
	return jobCommand(stirring.JobName, "stir the vial at a target RPM",
		"Drives the stirrer's PWM and holds target_rpm with a PID on the measured RPM ([stirring.config],\n"+
			"[stirring.pid]; docs/stirring.md).",
		[]cli.Flag{
			&cli.Float64Flag{Name: "target-rpm", Usage: "target speed, RPM (0 to 5000)", DefaultText: "[stirring.config] target_rpm"},
			&cli.Float64Flag{Name: "duty-cycle", Usage: "duty cycle to start from, percent", DefaultText: "[stirring.config] initial_duty_cycle"},
			&cli.BoolFlag{Name: "use-rpm", Usage: "hold the RPM with the hall sensor (false: duty cycle only)", DefaultText: "when the board has one"},
			&cli.BoolFlag{Name: "enable-dodging-od", Usage: "stop stirring around each OD reading", DefaultText: "[stirring.config] enable_dodging_od"},
			&cli.Float64Flag{Name: "target-rpm-during-od-reading", Usage: "RPM during an OD reading when dodging", DefaultText: "[stirring.config] target_rpm_during_od_reading"},
			&cli.Float64Flag{Name: "target-rpm-outside-od-reading", Usage: "RPM between OD readings when dodging", DefaultText: "the target RPM"},
			&cli.BoolFlag{Name: "measure-rpm-only", Usage: "measure and publish the RPM without a target"},
		},
		func(c *cli.Context, env *runtime.Env) (runtime.Runner, error) {
			return stirring.Start(env, stirring.Options{
				TargetRPM: floatFlag(c, "target-rpm"), DutyCycle: floatFlag(c, "duty-cycle"), UseRPM: boolFlagSet(c, "use-rpm"),
				EnableDodgingOD: boolFlagSet(c, "enable-dodging-od"), TargetRPMDuringOD: floatFlag(c, "target-rpm-during-od-reading"),
				TargetRPMOutsideOD: floatFlag(c, "target-rpm-outside-od-reading"), MeasureRPMOnly: c.Bool("measure-rpm-only"),
			})
		})
}
