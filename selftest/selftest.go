package selftest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/topic"
)

// JobName is the name the self-test drives outputs under (a running job
// holding one of them makes the check that needs it fail, naming the job)
// and the topic segment of its results.
const JobName = "self_test"

// Check is one self-test.
type Check struct {
	Name        string
	Description string
	// run performs the check: the measured value on success, or an error
	// that says what was measured and what was wanted.
	run func(ctx context.Context, b *bench) (string, error)
}

// Checks are every check, in the order Run runs them: instant ones first,
// the heater last (it leaves the PCB warm).
func Checks() []Check {
	return []Check{
		{"pwm_outputs", "each [PWM] channel opens and reads back the duty it is set to", checkPWMOutputs},
		{"pumps", "a short run of each pump moves liquid", checkPumps},
		{"photodiodes_dark", "with every LED off, each photodiode reads a dark offset near 0 V", checkDark},
		{"reference_photodiode", "with the IR LED on, REF reads a voltage within the plausible range", checkReference},
		{"leds", "each LED channel reads back its intensity, and REF rises with the IR LED's", checkLEDs},
		{"stirring", "the stirrer's RPM rises with its duty and reaches the target RPM", checkStirring},
		{"heater", "the heater warms the heating PCB's thermometer", checkHeater},
	}
}

// Result is the outcome of one check.
type Result struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Passed      bool   `json:"passed"`
	// Message is the measured value, or why the check failed.
	Message string `json:"message"`
	// Seconds is how long the check took on the unit's clock (virtual
	// seconds on the simulator).
	Seconds float64 `json:"seconds"`
}

// Report is the outcome of a self-test.
type Report struct {
	Unit      string   `json:"unit"`
	Board     string   `json:"board"`
	Simulated bool     `json:"simulated"`
	Passed    bool     `json:"all_tests_passed"`
	Results   []Result `json:"results"`
}

// Failed is the number of checks that failed.
func (r Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if !res.Passed {
			n++
		}
	}
	return n
}

// Options tune a self-test. The zero value runs every check with
// DefaultLimits.
type Options struct {
	// Only, if not empty, names the checks to run (Checks gives the names).
	Only []string
	// Limits nil: DefaultLimits.
	Limits *Limits
	// MovedML, if set, returns the liquid each device has truly moved so far
	// (the simulator knows it: sim.Reactor.State().MovedML). A board that
	// cannot tell leaves it nil, and the pump check then only runs the pumps.
	MovedML func(device string) float64
	// OnResult, if set, is called as each check ends.
	OnResult func(Result)
}

// bench is what the checks share.
type bench struct {
	env     *runtime.Env
	client  pubsub.Client
	opts    config.Options
	limits  Limits
	movedML func(string) float64
}

// Run runs the checks on env's board, waiting on env.Sched (call it from an
// actor of that scheduler), and publishes each result, retained, on
// pioreactor/<unit>/$experiment/self_test/<check> (1 passed, 0 failed),
// and all_tests_passed last: where upstream's UI reads self-test results. Its error means the checks
// could not start (a bad config, an unknown check name, no broker); a check
// that fails is in the report.
func Run(ctx context.Context, env *runtime.Env, o Options) (Report, error) {
	checks, err := selectChecks(o.Only)
	if err != nil {
		return Report{}, err
	}
	opts, err := env.Options()
	if err != nil {
		return Report{}, err
	}
	limits := DefaultLimits()
	if o.Limits != nil {
		limits = *o.Limits
	}
	client, err := env.Connect(pubsub.Options{ClientID: fmt.Sprintf("%s-%s", JobName, env.Unit)})
	if err != nil {
		return Report{}, fmt.Errorf("self-test: connect to the broker: %w", err)
	}
	defer client.Close()
	b := &bench{env: env, client: client, opts: opts, limits: limits, movedML: o.MovedML}
	rep := Report{Unit: env.Unit, Board: env.Board.Name(), Simulated: env.Board.Simulated(), Passed: true}
	for _, c := range checks {
		res := runCheck(ctx, b, c)
		rep.Results = append(rep.Results, res)
		rep.Passed = rep.Passed && res.Passed
		b.publish(res.Name, res.Passed)
		if o.OnResult != nil {
			o.OnResult(res)
		}
	}
	b.publish("all_tests_passed", rep.Passed)
	return rep, nil
}

// selectChecks returns the checks named (all for none).
func selectChecks(only []string) ([]Check, error) {
	all := Checks()
	if len(only) == 0 {
		return all, nil
	}
	var out []Check
	var names []string
	for _, c := range all {
		names = append(names, c.Name)
	}
	for _, name := range only {
		found := false
		for _, c := range all {
			if c.Name == name {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("self-test: no check is named %q (the checks: %s)", name, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// runCheck runs one check; a panic in it is its failure.
func runCheck(ctx context.Context, b *bench, c Check) (res Result) {
	res = Result{Name: c.Name, Description: c.Description}
	start := b.env.Sched.Now()
	defer func() {
		if p := recover(); p != nil {
			res.Passed, res.Message = false, fmt.Sprintf("panic: %v", p)
		}
		res.Seconds = b.env.Sched.Now().Sub(start).Seconds()
	}()
	if err := ctx.Err(); err != nil {
		res.Message = "not run: " + err.Error()
		return res
	}
	msg, err := c.run(ctx, b)
	if err != nil {
		res.Message = err.Error()
		return res
	}
	res.Passed, res.Message = true, msg
	return res
}

func (b *bench) publish(name string, passed bool) {
	v := "0"
	if passed {
		v = "1"
	}
	t := b.env.Topic(topic.UniversalExperiment, JobName, name)
	if err := b.client.Publish(t, []byte(v), 1, true); err != nil && b.env.Console != nil {
		b.env.Console.Warn("self-test: publish failed", "topic", t, "err", err)
	}
}

// sleep waits d on the unit's clock.
func (b *bench) sleep(ctx context.Context, d time.Duration) error {
	return clock.Sleep(ctx, b.env.Sched, d)
}

// open opens the PWM output of channel for the self-test, reserved on the
// whole machine (a job that drives it makes this fail, naming the job).
// Close it with a defer: Close sets it to 0.
func (b *bench) open(channel int, hz float64) (hw.PWM, error) {
	return b.env.OpenPWM(b.client, b.env.Experiment, channel, hz, JobName)
}

// device returns the channel [PWM] wires device to.
func (b *bench) device(device string) (int, error) {
	ch, ok := b.opts.PWMChannel(device)
	if !ok {
		return 0, fmt.Errorf("no PWM channel is wired to %s in [PWM]", device)
	}
	return ch, nil
}

// sensors returns the board's sensors.
func (b *bench) sensors() (hw.Sensors, error) { return hw.SensorsOf(b.env.Board) }

// off closes out (duty 0) and adds a failure to do so to *err: deferred
// by every check that opens an output, so it runs on every exit path.
func off(err *error, out hw.PWM) {
	if cerr := out.Close(); cerr != nil {
		*err = errors.Join(*err, fmt.Errorf("turning %s off: %w", out, cerr))
	}
}
