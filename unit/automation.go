package unit

import (
	"fmt"
	"os"
	"strings"

	"github.com/piolab/pio/customjob"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/leds"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/script"
	"github.com/piolab/pio/stdlib"
	"github.com/piolab/pio/temperature"
)

// Program is a loaded script of any family, an automation or a custom job:
// exactly one of its family fields is set.
type Program struct {
	Family      script.Family
	Dosing      *script.Script
	Temperature *script.TemperatureScript
	LED         *script.LEDScript
	Job         *script.JobScript
}

// Name is the program's automation_name, or a custom job's job_name.
func (p *Program) Name() string {
	switch {
	case p.Job != nil:
		return p.Job.Name()
	case p.Dosing != nil:
		return p.Dosing.Name()
	case p.Temperature != nil:
		return p.Temperature.Name()
	case p.LED != nil:
		return p.LED.Name()
	}
	return ""
}

// Automation is a started automation job of any family.
type Automation interface {
	runtime.Runner
	// Logger is the job's logger (its OnRecord sees every record).
	Logger() *runtime.Logger
	// Failures counts the program's failed runs so far. Call it on the
	// job's actor or after Run returned.
	Failures() int
}

// The families' jobs as Automations.
type (
	dosingJob      struct{ *dosing.Automation }
	temperatureJob struct{ *temperature.Automation }
	ledJob         struct{ *leds.Automation }
)

// A custom job is an Automation as it is: it has Logger and Failures.
var _ Automation = (*customjob.Job)(nil)

func (a dosingJob) Logger() *runtime.Logger      { return a.Log }
func (a dosingJob) Failures() int                { return a.Errors }
func (a temperatureJob) Logger() *runtime.Logger { return a.Log }
func (a temperatureJob) Failures() int           { return a.Errors }
func (a ledJob) Logger() *runtime.Logger         { return a.Log }
func (a ledJob) Failures() int                   { return a.Errors }

// LoadProgram loads an automation script of any family (its
// automation_type says which). A bare name that is not a file (turbidostat,
// thermostat) is the automation of that name in pio's library, looked up in
// the dosing, then the temperature, then the LED automations.
func LoadProgram(path, unitName, experiment string) (*Program, error) {
	if _, err := os.Stat(path); err != nil && !strings.ContainsAny(path, "/.") {
		for _, fam := range []string{"dosing", "temperature", "led"} {
			if p, err := LoadLibraryProgram(fam, path, unitName, experiment); err == nil || !isNotInLibrary(err) {
				return p, err
			}
		}
		return nil, fmt.Errorf("%s: no such file, and pio ships no automation of that name (%s)", path, LibraryNames())
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	return loadProgram(path, src, unitName, experiment)
}

// errNotInLibrary is a name the library does not have.
type errNotInLibrary struct{ family, name string }

func (e errNotInLibrary) Error() string {
	return fmt.Sprintf("pio ships no %s automation named %q (it ships %s)", e.family, e.name, strings.Join(stdlib.Names(e.family), ", "))
}

func isNotInLibrary(err error) bool { _, ok := err.(errNotInLibrary); return ok }

// LoadLibraryProgram loads the automation name of family from pio's
// library (stdlib/<family>/<name>.star). An unknown name is an error that
// lists the family's automations.
func LoadLibraryProgram(family, name, unitName, experiment string) (*Program, error) {
	p, src, ok := stdlib.Lookup(family, name)
	if !ok {
		return nil, errNotInLibrary{family, name}
	}
	return loadProgram(p, src, unitName, experiment)
}

// LibraryNames lists every automation pio ships, by family.
func LibraryNames() string {
	var parts []string
	for _, fam := range []string{"dosing", "temperature", "led"} {
		parts = append(parts, fam+": "+strings.Join(stdlib.Names(fam), ", "))
	}
	return strings.Join(parts, "; ")
}

func loadProgram(path string, src []byte, unitName, experiment string) (*Program, error) {
	fam, _, err := script.DetectFamily(path, src)
	if err != nil {
		return nil, err
	}
	p := &Program{Family: fam}
	switch fam.Type {
	case "dosing":
		p.Dosing, err = script.Load(path, src, unitName, experiment)
	case "temperature":
		p.Temperature, err = script.LoadTemperature(path, src, unitName, experiment)
	case "led":
		p.LED, err = script.LoadLED(path, src, unitName, experiment)
	case script.JobType:
		p.Job, err = script.LoadJob(path, src, unitName, experiment)
	default:
		err = fmt.Errorf("%s: a %s automation runs as %s, which pio does not host", path, fam.Type, fam.Job)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// StartProgram starts a loaded program as its family's job on env: a
// dosing automation as dosing_automation (with o's starting liquid values),
// a temperature automation as temperature_automation, an LED automation as
// led_automation, a custom job as its job_name. The caller runs it with Run.
func StartProgram(env *runtime.Env, p *Program, o ScriptOptions) (Automation, error) {
	switch {
	case p.Dosing != nil:
		a, err := dosing.Start(env, dosing.Options{
			Program: p.Dosing, Overrides: o.Overrides,
			CurrentVolumeML: o.CurrentVolumeML, AltMediaFraction: o.AltMediaFraction, EffluxTubeVolumeML: o.EffluxTubeVolumeML,
		})
		if err != nil {
			return nil, err
		}
		return dosingJob{a}, nil
	case p.Temperature != nil:
		if err := noLiquidOptions(p, o); err != nil {
			return nil, err
		}
		a, err := temperature.Start(env, temperature.Options{Program: p.Temperature, Overrides: o.Overrides})
		if err != nil {
			return nil, err
		}
		return temperatureJob{a}, nil
	case p.LED != nil:
		if err := noLiquidOptions(p, o); err != nil {
			return nil, err
		}
		a, err := leds.StartAutomation(env, leds.AutomationOptions{Program: p.LED, Overrides: o.Overrides})
		if err != nil {
			return nil, err
		}
		return ledJob{a}, nil
	case p.Job != nil:
		if err := noLiquidOptions(p, o); err != nil {
			return nil, err
		}
		j, err := customjob.Start(env, customjob.Options{Program: p.Job, Overrides: o.Overrides})
		if err != nil {
			return nil, err
		}
		return j, nil
	}
	return nil, fmt.Errorf("no program to start")
}

// noLiquidOptions refuses starting liquid values for an automation that
// does not dose.
func noLiquidOptions(p *Program, o ScriptOptions) error {
	if o.CurrentVolumeML != nil || o.AltMediaFraction != nil || o.EffluxTubeVolumeML != nil {
		if p.Job != nil {
			return fmt.Errorf("%s is a custom job: --current-volume-ml, --alt-media-fraction and --efflux-tube-volume-ml are for dosing automations", p.Name())
		}
		return fmt.Errorf("%s is a %s automation: --current-volume-ml, --alt-media-fraction and --efflux-tube-volume-ml are for dosing automations", p.Name(), p.Family.Type)
	}
	return nil
}
