// Package temperature runs temperature automations: the
// temperature_automation job, which owns the heater (a PWM output) and the
// heating PCB's thermometer, estimates the vial's temperature, keeps the
// heating PCB within the bioreactor model's limits, and runs a Program (a
// Starlark script of the temperature family, or Go in tests) after each new
// temperature. The thermostat and only_record_temperature programs are
// Starlark files in stdlib/temperature.
//
// The heating PCB's thermometer reads the PCB, not the vial: while the
// heater heats, the PCB is warmer than the vial. Every InferenceEvery the
// job turns the heater off for InferenceSamples readings and estimates the
// vial's temperature from how the PCB cools (upstream's linear model,
// Infer); the program runs on that estimate.
package temperature

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/readings"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/scripthw"
)

// JobName is the job name of every temperature automation.
const JobName = "temperature_automation"

// Program is a loaded temperature automation: what an Automation runs.
type Program interface {
	// Name is the automation_name.
	Name() string
	// Settings are the program's settable settings. A setting whose
	// Default is nil is required: Start fails without a value for it.
	Settings() []automation.SettingDecl
	// Execute runs once after each new temperature (at start and after
	// every inference). The returned event may be nil.
	Execute(ctx context.Context, a *Automation) (*payload.Event, error)
}

// SettingChecker is an optional hook of a Program: it checks a setting's
// value at start and on every /set, and returns the value to use (the
// thermostat clamps its target to MaxTargetTemperature). An error refuses
// the value: Start fails, or the setting keeps its previous value.
type SettingChecker interface {
	CheckSetting(ctx context.Context, a *Automation, name string, v any) (any, error)
}

// Options start a temperature automation.
type Options struct {
	Program Program
	// Overrides are settings given as text (pio run temperature_automation
	// --target-temperature 35).
	Overrides map[string]string
}

// Automation is a temperature_automation job running a Program.
type Automation struct {
	*runtime.Job
	prog        Program
	limits      Limits
	gains       Gains
	thermometer hw.Thermometer
	history     *automation.History
	readings    *readings.Cache // the sensor jobs' latest readings

	mu        sync.Mutex
	heater    hw.PWM // nil once closed
	dc        float64
	held      bool // an inference holds the heater
	shutdown  bool // a reading passed the shutdown limit
	runCancel context.CancelFunc
	pcb       float64 // the last raw reading of the heating PCB
	pcbAt     time.Time
	latest    float64 // the latest temperature, as published
	latestAt  time.Time
	hasLatest bool

	// Errors counts failed execute() runs.
	Errors int
}

// Reading is the temperature setting's payload (upstream's Temperature).
type Reading struct {
	Timestamp   string        `json:"timestamp"`
	Temperature payload.Float `json:"temperature"`
}

// Start checks the hardware and the settings, creates the job, opens the
// heater at 0 %, publishes the settings and moves the job to ready. Call Run
// next: it takes the first reading.
func Start(env *runtime.Env, o Options) (*Automation, error) {
	prog := o.Program
	if prog == nil {
		return nil, errors.New("temperature_automation: no program to run")
	}
	name := prog.Name()
	if err := automation.CheckName(JobName, name); err != nil {
		return nil, err
	}
	opts, err := env.Options()
	if err != nil {
		return nil, err
	}
	limits, err := LimitsOf(opts.Bioreactor.Model)
	if err != nil {
		return nil, err
	}
	gains, err := ThermostatGains(env.Config)
	if err != nil {
		return nil, err
	}
	channel, ok := opts.PWMChannel(HeaterDevice)
	if !ok {
		return nil, fmt.Errorf("temperature_automation: no PWM channel is wired to %s (add <channel>=%s to [PWM])", HeaterDevice, HeaterDevice)
	}
	sensors, err := hw.SensorsOf(env.Board)
	if err != nil {
		return nil, fmt.Errorf("temperature_automation: %w", err)
	}
	therm, err := sensors.Thermometer()
	if err != nil {
		return nil, fmt.Errorf("temperature_automation: the heating PCB's thermometer: %w", err)
	}
	values, err := automation.SettingValues(name, prog.Settings(), o.Overrides)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a := &Automation{prog: prog, limits: limits, gains: gains, thermometer: therm}
	job, err := runtime.NewJob(env, JobName, env.Experiment, runtime.Hooks{
		OnSleeping:       a.onSleeping,
		OnDisconnected:   a.onDisconnected,
		OnSettingChanged: func(string) { a.history.Publish() },
		OnConnectionLost: a.onConnectionLost,
	})
	if err != nil {
		return nil, err
	}
	a.Job = job
	fail := func(err error) (*Automation, error) { a.Close(); return nil, err }
	out, err := env.OpenPWM(job.Client(), job.Experiment, channel, HeaterHz, JobName)
	if err != nil {
		return fail(fmt.Errorf("temperature_automation: the heater on PWM channel %d: %w", channel, err))
	}
	a.heater = out
	if err := out.SetDuty(0); err != nil {
		return fail(fmt.Errorf("temperature_automation: the heater on PWM channel %d: %w", channel, err))
	}
	set := map[string]func(any) error{}
	if c, ok := prog.(SettingChecker); ok {
		for _, d := range prog.Settings() {
			v, err := c.CheckSetting(context.Background(), a, d.Name, values[d.Name])
			if err != nil {
				return fail(fmt.Errorf("%s: setting %s: %w", name, d.Name, err))
			}
			values[d.Name] = v
			set[d.Name] = a.checkedSetter(c, d.Name)
		}
	}
	if err := required(name, prog.Settings(), values); err != nil {
		return fail(err)
	}
	a.history = automation.NewHistory(job, name)
	if err := automation.Declare(job, name, prog.Settings(), values, set, a.history); err != nil {
		return fail(err)
	}
	if err := job.AddSetting(runtime.Setting{Name: "temperature", Datatype: payload.TypeJSON}, nil); err != nil {
		return fail(err)
	}
	if err := job.AddSetting(runtime.Setting{Name: "heater_duty_cycle", Datatype: payload.TypeFloat}, 0.0); err != nil {
		return fail(err)
	}
	if a.readings, err = readings.Subscribe(job); err != nil {
		return fail(err)
	}
	job.Log.Info("Starting %s.", name)
	if err := job.Start(); err != nil {
		return fail(err)
	}
	return a, nil
}

// Readings are the latest readings of the unit's sensor jobs (OD, growth
// rate), for the program.
func (a *Automation) Readings() *readings.Cache { return a.readings }

// required refuses a required setting (declared without a default) that
// has no value.
func required(program string, decls []automation.SettingDecl, values map[string]any) error {
	for _, d := range decls {
		if values[d.Name] == nil {
			return fmt.Errorf("%s: setting %s is required and has no default: give it (--%s <value>)",
				program, d.Name, strings.ReplaceAll(d.Name, "_", "-"))
		}
	}
	return nil
}

// checkedSetter is a setting's /set handler through the program's check.
func (a *Automation) checkedSetter(c SettingChecker, name string) func(any) error {
	return func(v any) error {
		nv, err := c.CheckSetting(context.Background(), a, name, v)
		if err != nil {
			return err
		}
		a.SetValue(name, nv)
		return nil
	}
}

// Program returns the automation's program.
func (a *Automation) Program() Program { return a.prog }

// Limits are the heating limits of the unit's bioreactor model.
func (a *Automation) Limits() Limits { return a.limits }

// ThermostatGains are [temperature_automation.thermostat]'s gains, read at
// start.
func (a *Automation) ThermostatGains() Gains { return a.gains }

// LatestTemperature is the latest published temperature and when it was
// measured; ok is false before the first.
func (a *Automation) LatestTemperature() (t float64, at time.Time, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.latest, a.latestAt, a.hasLatest
}

// PCBTemperature is the last raw reading of the heating PCB and its time.
func (a *Automation) PCBTemperature() (float64, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pcb, a.pcbAt
}

// Heating turns off while the job sleeps; the inference pauses. Waking
// changes nothing: the next execute() sets the heater.
func (a *Automation) onSleeping() { a.setHeater(0) }

func (a *Automation) onDisconnected() {
	a.mu.Lock()
	cancel := a.runCancel
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	a.closeHeater()
}

// A heater whose job cannot be reached is turned off; the next execute()
// after the connection is back sets it again.
func (a *Automation) onConnectionLost(error) {
	a.setHeater(0)
	a.Log.Warning("Lost the MQTT connection: the heater is off until the next execute().")
}

// Close disconnects the job, turns the heater off and releases its output.
// It is idempotent.
func (a *Automation) Close() {
	a.Job.Close()
	a.closeHeater()
}

// Run measures the temperature once and runs the program, then reads the
// heating PCB every CheckEvery and infers the vial's temperature every
// InferenceEvery (running the program after each) until ctx ends, the job is
// disconnected, or a reading passes the model's shutdown limit (an error).
// It always returns with the heater off, its output released and the job
// disconnected.
func (a *Automation) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	a.runCancel = cancel
	a.mu.Unlock()
	defer a.Close()
	defer scripthw.Release(a.Job) // every device the script opened, halted and closed
	if a.State() == runtime.Disconnected {
		return nil
	}
	err := a.loop(ctx)
	switch {
	case errors.Is(err, errShutdown):
		pcb, _ := a.PCBTemperature()
		return fmt.Errorf("temperature_automation: the heating PCB read %s °C, above the shutdown limit of %s °C: the heater is off and the job stopped",
			payload.PyFloat(pcb), payload.PyFloat(a.limits.ShutdownAbove))
	case err == nil, ctx.Err() != nil, errors.Is(err, clock.ErrEndOfTime):
		return nil
	}
	return err
}

// loop is Run's schedule, on one actor: the safety check every CheckEvery
// and the inference every InferenceEvery, each on its own fixed grid from
// the start (a late run skips grid points). A check that falls due during
// an inference is skipped: every reading of the inference is checked.
func (a *Automation) loop(ctx context.Context) error {
	clk := a.Env().Sched
	start := clk.Now()
	if err := a.measure(ctx); err != nil && !a.readFailed(err) {
		return err
	}
	checkAnchor, inferAnchor := start.Add(CheckEvery), start.Add(FirstInference)
	nextCheck, nextInfer := checkAnchor, inferAnchor
	for {
		next := nextCheck
		if nextInfer.Before(next) {
			next = nextInfer
		}
		if err := clk.SleepUntil(ctx, next); err != nil {
			return err
		}
		var err error
		if !clk.Now().Before(nextInfer) {
			if a.State() == runtime.Ready {
				err = a.infer(ctx)
			}
			nextInfer = gridAfter(inferAnchor, InferenceEvery, clk.Now())
		} else {
			_, err = a.readPCB(ctx)
		}
		if err != nil && !a.readFailed(err) {
			return err
		}
		if now := clk.Now(); !now.Before(nextCheck) {
			nextCheck = gridAfter(checkAnchor, CheckEvery, now)
		}
	}
}

// readFailed reports whether err is a failed reading the job survives
// (already logged, the heater off), rather than a reason to stop.
func (a *Automation) readFailed(err error) bool {
	return !errors.Is(err, errShutdown) && !errors.Is(err, clock.ErrEndOfTime) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded)
}

// gridAfter is the first point of anchor + k·period after now.
func gridAfter(anchor time.Time, period time.Duration, now time.Time) time.Time {
	if now.Before(anchor) {
		return anchor
	}
	k := now.Sub(anchor)/period + 1
	return anchor.Add(k * period)
}

// measure reads the heating PCB once, publishes it as the temperature and
// runs the program: the start of Run, when the heater has been off.
func (a *Automation) measure(ctx context.Context) error {
	t, err := a.readPCB(ctx)
	if err != nil {
		return err
	}
	a.publishTemperature(round2(t))
	a.execute(ctx)
	return nil
}

// infer holds the heater off for InferenceSamples readings, restores its
// duty cycle if the job is still ready, estimates the vial's temperature,
// publishes it and runs the program. A failed reading leaves the heater
// off and publishes nothing.
func (a *Automation) infer(ctx context.Context) error {
	dcPrev := a.hold()
	readings, err := a.sampleCooling(ctx)
	if err == nil && ctx.Err() == nil && a.State() == runtime.Ready {
		a.setHeater(dcPrev)
	}
	a.release()
	if err != nil {
		return err
	}
	t, err := Infer(dcPrev, readings)
	if err != nil {
		a.Log.Error("%v", err)
		return nil
	}
	a.publishTemperature(t)
	a.execute(ctx)
	return nil
}

// sampleCooling turns the heater off and takes InferenceSamples readings,
// InferenceSpacing apart.
func (a *Automation) sampleCooling(ctx context.Context) ([]float64, error) {
	clk := a.Env().Sched
	a.setHeater(0)
	start := clk.Now()
	readings := make([]float64, 0, InferenceSamples)
	for i := 0; i < InferenceSamples; i++ {
		if i > 0 {
			if err := clk.SleepUntil(ctx, start.Add(time.Duration(i)*InferenceSpacing)); err != nil {
				return nil, err
			}
		}
		t, err := a.readPCB(ctx)
		if err != nil {
			return nil, err
		}
		readings = append(readings, t)
	}
	return readings, nil
}

// publishTemperature makes t the job's temperature.
func (a *Automation) publishTemperature(t float64) {
	now := a.Env().Sched.Now()
	a.mu.Lock()
	a.latest, a.latestAt, a.hasLatest = t, now, true
	a.mu.Unlock()
	a.SetValue("temperature", Reading{Timestamp: payload.StructTimestamp(now), Temperature: payload.Float(t)})
}

// execute runs the program once, if the job is ready, and publishes what
// it returned as latest_event: its event, or ErrorOccurred for an error.
func (a *Automation) execute(ctx context.Context) {
	if st := a.State(); st != runtime.Ready && st != runtime.Init {
		return
	}
	ev, err := a.prog.Execute(ctx, a)
	if ctx.Err() != nil || errors.Is(err, clock.ErrEndOfTime) {
		return
	}
	if err != nil {
		a.mu.Lock()
		a.Errors++
		a.mu.Unlock()
	}
	automation.Outcome(a.Job, ev, err, a.Log.Error)
}
