package odreading

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// JobName is the job's name on MQTT.
const JobName = "od_reading"

// Options are the parameters of `pio run od_reading`. Zero values take the
// configuration's.
type Options struct {
	// Interval is the time between readings in seconds (--interval); nil:
	// 1 / [od_reading.config] samples_per_second. It must be above 0.
	Interval *float64
	// IRLEDIntensity is the IR LED's intensity in percent, 0 to 100
	// (--ir-led-intensity); nil: [od_reading.config] ir_led_intensity.
	IRLEDIntensity *float64
	// Snapshot takes one reading, publishes it, and ends the job
	// (--snapshot); interval is then not published.
	Snapshot bool
	// Cache keeps the experiment's first REF reading and its blank; nil:
	// a cache in memory, forgotten when the job ends.
	Cache Cache
}

// Timing of a reading and of start-up, as upstream's.
const (
	// ledSettle is the wait between the LEDs changing and the samples.
	ledSettle = 125 * time.Millisecond
	// autoIRStart is the IR intensity at which ir_led_intensity=auto measures.
	autoIRStart = 85.0
	// warnIRAbove: an IR intensity above this gives a warning.
	warnIRAbove = 90.0
	// relativeEvery: relative_intensity_of_ir_led is published on every
	// fifth reading (upstream: on a random 20 %).
	relativeEvery = 5
)

// Job is a running od_reading job.
type Job struct {
	*runtime.Job
	env      *runtime.Env
	cfg      settings
	adcs     map[int]hw.ADC // by photodiode channel
	leds     ledControl
	cache    Cache
	snapshot bool
	schedule *runtime.Periodic
	est      estimator

	// The work actor's state (Run and Start only).
	offsets  map[int]float64
	prior    map[int]float64
	overVolt map[int]*overVoltage
	ref      *refTracker
	blank    map[string]float64
	readings int // published so far
	firstObs bool

	mu          sync.Mutex
	interval    float64 // seconds
	irIntensity float64
	runCancel   context.CancelFunc
	stopped     bool
}

// Start reads the configuration, opens the photodiodes and the LEDs,
// creates the job, measures the dark offsets (and, with
// ir_led_intensity=auto, the IR intensity), publishes its settings and moves
// it to ready. Start-up waits about a second on env.Sched, so under a
// virtual scheduler Start must be called from an actor. Call Run next.
func Start(env *runtime.Env, o Options) (*Job, error) {
	cfg, err := readSettings(env.Config)
	if err != nil {
		return nil, err
	}
	interval := 1 / cfg.samplesPerSecond
	if o.Interval != nil {
		interval = *o.Interval
	}
	if err := checkInterval(interval); err != nil {
		return nil, fmt.Errorf("od_reading: %w", err)
	}
	ir := cfg.irIntensity
	if o.IRLEDIntensity != nil {
		ir, cfg.irAuto = *o.IRLEDIntensity, false
	}
	if err := checkIntensity(ir); err != nil {
		return nil, fmt.Errorf("od_reading: %w", err)
	}
	sensors, err := hw.SensorsOf(env.Board)
	if err != nil {
		return nil, fmt.Errorf("od_reading: %w", err)
	}
	j := &Job{env: env, cfg: cfg, adcs: map[int]hw.ADC{}, cache: o.Cache, snapshot: o.Snapshot,
		est: newEstimator(), offsets: map[int]float64{}, prior: map[int]float64{},
		overVolt: map[int]*overVoltage{}, interval: interval, irIntensity: ir}
	if j.cache == nil {
		j.cache = NewMemCache()
	}
	for _, ch := range j.channels() {
		adc, err := sensors.Photodiode(ch.number)
		if err != nil {
			return nil, fmt.Errorf("od_reading: photodiode channel %d ([%s] %s=%s): %w", ch.number, channelSection, ch.name, ch.label(), err)
		}
		j.adcs[ch.number] = adc
		j.overVolt[ch.number] = newOverVoltage()
	}
	if j.leds, err = ledsFor(env); err != nil {
		return nil, fmt.Errorf("od_reading: the IR LED: %w", err)
	}
	if cfg.ref != nil {
		if j.ref, err = newRefTracker(cfg.refNormalization == "unity", cfg.pdReferenceEMA); err != nil {
			return nil, fmt.Errorf("od_reading: [%s] %w", readingSection, err)
		}
	}

	period := time.Duration(0)
	if !o.Snapshot {
		period = seconds(interval)
	}
	j.schedule = runtime.NewPeriodic(env.Sched, 0, period)
	job, err := runtime.NewJob(env, JobName, env.Experiment, runtime.Hooks{OnDisconnected: j.onDisconnected})
	if err != nil {
		return nil, err
	}
	j.Job = job
	fail := func(err error) (*Job, error) { j.irOff(); job.Close(); return nil, err }
	if err := j.loadCache(); err != nil {
		return fail(err)
	}
	if err := j.startUp(context.Background()); err != nil {
		return fail(err)
	}
	if err := j.declareSettings(); err != nil {
		return fail(err)
	}
	if err := job.Start(); err != nil {
		return fail(err)
	}
	return j, nil
}

// label is the channel's value in [od_config.photodiode_channel].
func (c channel) label() string {
	if c.angle == "" {
		return REF
	}
	return c.angle
}

// channels are the signal channels and REF, by channel number.
func (j *Job) channels() []channel {
	out := append([]channel(nil), j.cfg.signals...)
	if j.cfg.ref != nil {
		out = append(out, *j.cfg.ref)
	}
	return out
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

func checkInterval(s float64) error {
	if !(s > 0) || s > 1e6 {
		return fmt.Errorf("interval %s s: want more than 0 and at most 1000000 seconds", payload.PyFloat(s))
	}
	return nil
}

func checkIntensity(p float64) error {
	if !(p >= 0 && p <= 100) {
		return fmt.Errorf("ir_led_intensity %s: want a percentage from 0 to 100", payload.PyFloat(p))
	}
	return nil
}

// loadCache reads the experiment's first REF reading and its blank.
func (j *Job) loadCache() error {
	exp := j.Experiment
	if j.ref != nil && j.ref.unity {
		v, ok, err := j.cache.Get(RefCache, exp)
		if err != nil {
			return fmt.Errorf("od_reading: %w", err)
		}
		if ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f > 0) || math.IsInf(f, 0) {
				return fmt.Errorf("od_reading: cache %s, experiment %s: %q is not a REF reading above 0 V", RefCache, exp, v)
			}
			j.ref.initial = f
		}
	}
	v, ok, err := j.cache.Get(BlankCache, exp)
	if err != nil {
		return fmt.Errorf("od_reading: %w", err)
	}
	if ok {
		if j.blank, err = parseBlank(v); err != nil {
			return fmt.Errorf("od_reading: cache %s, experiment %s: %w", BlankCache, exp, err)
		}
		j.Log.Info("Using the blank of experiment %s: %s.", exp, v)
	}
	return nil
}

func (j *Job) declareSettings() error {
	j.mu.Lock()
	interval, ir := j.interval, j.irIntensity
	j.mu.Unlock()
	var iv any
	if !j.snapshot {
		iv = interval
	}
	decl := []struct {
		s       runtime.Setting
		initial any
	}{
		{runtime.Setting{Name: "interval", Datatype: payload.TypeFloat, Settable: true, Set: j.setInterval}, iv},
		{runtime.Setting{Name: "ir_led_intensity", Datatype: payload.TypeFloat, Settable: true, Set: j.setIntensity}, ir},
		{runtime.Setting{Name: "first_od_obs_time", Datatype: payload.TypeFloat}, nil},
		{runtime.Setting{Name: "ods", Datatype: payload.TypeJSON}, nil},
		{runtime.Setting{Name: "relative_intensity_of_ir_led", Datatype: payload.TypeJSON}, nil},
	}
	for _, d := range decl {
		if err := j.AddSetting(d.s, d.initial); err != nil {
			return err
		}
	}
	for _, ch := range j.cfg.signals {
		if err := j.AddSetting(runtime.Setting{Name: "od" + ch.name, Datatype: payload.TypeJSON}, nil); err != nil {
			return err
		}
	}
	if interval <= 1 && !j.snapshot {
		j.Log.Warning("Recommended to have interval above 1 second; it is %s s.", payload.PyFloat(interval))
	}
	if ir > warnIRAbove {
		j.Log.Warning("The IR LED's intensity %s %% is above %s %%: the LED ages faster.", payload.PyFloat(ir), payload.PyFloat(warnIRAbove))
	}
	return nil
}

// setInterval handles interval/set.
func (j *Job) setInterval(v any) error {
	s := v.(float64)
	if err := checkInterval(s); err != nil {
		return err
	}
	if j.snapshot {
		return errors.New("a snapshot takes one reading and has no interval")
	}
	if s <= 1 {
		j.Log.Warning("Recommended to have interval above 1 second; it is %s s.", payload.PyFloat(s))
	}
	j.mu.Lock()
	j.interval = s
	j.mu.Unlock()
	j.SetValue("interval", s)
	j.schedule.SetPeriod(seconds(s))
	return nil
}

// setIntensity handles ir_led_intensity/set; the next reading uses it.
func (j *Job) setIntensity(v any) error {
	p := v.(float64)
	if err := checkIntensity(p); err != nil {
		return err
	}
	if p > warnIRAbove {
		j.Log.Warning("The IR LED's intensity %s %% is above %s %%: the LED ages faster.", payload.PyFloat(p), payload.PyFloat(warnIRAbove))
	}
	j.mu.Lock()
	j.irIntensity = p
	j.mu.Unlock()
	j.SetValue("ir_led_intensity", p)
	return nil
}

func (j *Job) settings() (interval, ir float64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.interval, j.irIntensity
}

func (j *Job) onDisconnected() {
	j.mu.Lock()
	j.stopped = true
	cancel := j.runCancel
	j.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Run takes readings until ctx ends or the job is disconnected (pio kill,
// $state/set), or after one reading for a snapshot; sleeping pauses them.
// It returns with the IR LED off and the job closed. An over-voltage stops
// the job with every LED off and an error.
func (j *Job) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	j.mu.Lock()
	j.runCancel = cancel
	stopped := j.stopped
	j.mu.Unlock()
	defer j.Close()
	defer j.irOff()
	if stopped {
		return nil
	}
	var runErr error
	err := j.schedule.Run(ctx, func() bool { return j.State() == runtime.Ready }, func(ctx context.Context) {
		err := j.read(ctx)
		var fatal *fatalError
		switch {
		case err == nil, ctx.Err() != nil:
		case errors.As(err, &fatal):
			runErr = err
			cancel()
		default:
			j.Log.Error("%v", err)
		}
	})
	if runErr != nil {
		return runErr
	}
	return err
}

// irOff turns the IR LED off, whatever the context.
func (j *Job) irOff() {
	if _, err := j.leds.Set(context.Background(), map[string]float64{j.cfg.irChannel: 0}, JobName); err != nil {
		j.Log.Error("Turning the IR LED (channel %s) off failed: %v", j.cfg.irChannel, err)
	}
}

// fatalError ends the job (over-voltage).
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }
