package simulate

import (
	"context"
	"strconv"

	"github.com/piolab/pio/growthrate"
	"github.com/piolab/pio/odreading"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/stirring"
	"github.com/piolab/pio/unit"
)

// UnitJobs are the jobs a simulated unit runs for its culture beside the
// automation, in the order they start, as on a Pioreactor: the stirrer, the
// OD reader, the growth-rate calculator and a temperature automation.
var UnitJobs = []string{stirring.JobName, odreading.JobName, growthrate.JobName, "temperature_automation"}

// startUnitJobs starts UnitJobs on the simulation's actor: od_reading's
// start takes its dark readings, which takes virtual time. A temperature
// automation script replaces the unit's own temperature automation.
func startUnitJobs(ctx context.Context, env *runtime.Env, sup *runtime.Supervisor, prog *unit.Program, o Options) error {
	host := func(r runtime.Runner, err error) error {
		if err != nil {
			return err
		}
		return sup.Start(ctx, r, nil)
	}
	if err := host(stirring.Start(env, stirring.Options{})); err != nil {
		return err
	}
	if err := host(odreading.Start(env, odreading.Options{Cache: odreading.NewMemCache()})); err != nil {
		return err
	}
	if err := host(growthrate.Start(env, growthrate.Options{Cache: &growthrate.MemCache{}})); err != nil {
		return err
	}
	if prog.Temperature != nil {
		return nil
	}
	name, overrides := "only_record_temperature", map[string]string(nil)
	if o.TargetTemperature != nil {
		name = "thermostat"
		overrides = map[string]string{"target_temperature": strconv.FormatFloat(*o.TargetTemperature, 'g', -1, 64)}
	}
	tp, err := unit.LoadLibraryProgram("temperature", name, env.Unit, env.Experiment)
	if err != nil {
		return err
	}
	return host(unit.StartProgram(env, tp, unit.ScriptOptions{Overrides: overrides}))
}
