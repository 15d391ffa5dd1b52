package odreading

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/piolab/pio/control"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/topic"
)

// Over-voltage limits on a channel's moving average, in volts.
const (
	warnVolts    = 3.0
	shutOffVolts = 3.2
	// errorCodeOverVoltage is upstream's blink code for a photodiode near
	// its ADC's limit.
	errorCodeOverVoltage = 5
)

// overVoltage is a channel's moving average for the over-voltage check.
type overVoltage struct{ ema *control.EMA }

func newOverVoltage() *overVoltage {
	e, _ := control.NewEMA(0.05)
	return &overVoltage{ema: e}
}

// burst takes n samples from every channel, spacing apart, then waits on
// the scheduler until the last sample's time (at once on hardware, whose
// bursts take their time; in virtual time, the time a burst would take).
func (j *Job) burst(ctx context.Context, n int, spacing time.Duration) (map[int][]hw.Sample, error) {
	out := make(map[int][]hw.Sample, len(j.adcs))
	var last time.Time
	for _, ch := range j.channels() {
		s, err := j.adcs[ch.number].Burst(ctx, n, spacing)
		if err != nil {
			return nil, fmt.Errorf("reading photodiode channel %d: %w", ch.number, err)
		}
		if len(s) == 0 {
			return nil, fmt.Errorf("reading photodiode channel %d: the ADC returned no samples", ch.number)
		}
		out[ch.number] = s
		if t := s[len(s)-1].At; t.After(last) {
			last = t
		}
	}
	if err := j.env.Sched.SleepUntil(ctx, last); err != nil {
		return nil, err
	}
	return out, nil
}

// withLEDs runs fn with the IR LED at ir and, if turn_off_leds_during_reading,
// every other LED off and locked; then it puts the LEDs back as they were.
func (j *Job) withLEDs(ctx context.Context, ir float64, fn func() error) error {
	before := j.leds.Intensities()
	desired := map[string]float64{j.cfg.irChannel: ir}
	var others []string
	if j.cfg.turnOffLEDs {
		for _, ch := range ledChannels {
			if ch != j.cfg.irChannel {
				desired[ch] = 0
				others = append(others, ch)
			}
		}
	}
	restore := make(map[string]float64, len(desired))
	for ch := range desired {
		restore[ch] = before[ch]
	}
	defer func() {
		if _, err := j.leds.Set(context.Background(), restore, JobName); err != nil {
			j.Log.Error("Restoring the LEDs after a reading failed: %v", err)
		}
	}()
	if _, err := j.leds.Set(ctx, desired, JobName); err != nil {
		return fmt.Errorf("setting the LEDs for a reading: %w", err)
	}
	unlock := j.leds.Lock(JobName, others...)
	defer unlock()
	return fn()
}

// startUp measures each channel's dark offset with every LED off and, with
// ir_led_intensity=auto, chooses the IR intensity; the LEDs are then put
// back as they were.
func (j *Job) startUp(ctx context.Context) error {
	var dark map[int][]hw.Sample
	err := j.withLEDs(ctx, 0, func() error {
		if !j.cfg.useDarkOffsets && !j.cfg.irAuto {
			return nil
		}
		var err error
		if j.cfg.useDarkOffsets {
			if dark, err = j.burst(ctx, samplesPerReading, burstSpacing); err != nil {
				return err
			}
			for ch, s := range dark {
				j.offsets[ch] = j.est.level(s, 0, 0, 0)
			}
		}
		if j.cfg.irAuto {
			return j.autoIntensity(ctx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("od_reading: start-up: %w", err)
	}
	if j.cfg.useDarkOffsets {
		j.Log.Debug("Dark offsets (V): %s.", j.describe(j.offsets))
	}
	return nil
}

// autoIntensity is ir_led_intensity=auto: with the IR at 85 %, it measures
// the channels and, with exactly one signal channel and REF, lowers the
// intensity so that neither saturates:
// round(max(50, min(85, 85·0.25/REF, 85·(3.0/50)/signal)), 2).
func (j *Job) autoIntensity(ctx context.Context) error {
	ir := autoIRStart
	if _, err := j.leds.Set(ctx, map[string]float64{j.cfg.irChannel: autoIRStart}, JobName); err != nil {
		return err
	}
	if err := j.env.Sched.SleepUntil(ctx, j.env.Sched.Now().Add(ledSettle)); err != nil {
		return err
	}
	s, err := j.burst(ctx, 10, 25*time.Millisecond)
	if err != nil {
		return err
	}
	if _, err := j.leds.Set(ctx, map[string]float64{j.cfg.irChannel: 0}, JobName); err != nil {
		return err
	}
	if len(j.cfg.signals) == 1 && j.cfg.ref != nil {
		refV := j.est.level(s[j.cfg.ref.number], j.offsets[j.cfg.ref.number], 0, 0)
		sigV := j.est.level(s[j.cfg.signals[0].number], j.offsets[j.cfg.signals[0].number], 0, 0)
		best := math.Min(autoIRStart, math.Min(autoIRStart*0.25/refV, autoIRStart*(3.0/50)/sigV))
		ir = math.Round(math.Max(50, best)*100) / 100
	}
	j.mu.Lock()
	j.irIntensity = ir
	j.mu.Unlock()
	j.Log.Info("ir_led_intensity auto: %s %%.", payload.PyFloat(ir))
	return nil
}

// read takes one reading and publishes it.
func (j *Job) read(ctx context.Context) error {
	interval, ir := j.settings()
	clk := j.env.Sched
	if !j.firstObs {
		j.firstObs = true
		j.SetValue("first_od_obs_time", float64(clk.Now().UnixNano())/1e9)
	}
	var samples map[int][]hw.Sample
	var at time.Time
	err := j.withLEDs(ctx, ir, func() error {
		if err := clk.SleepUntil(ctx, clk.Now().Add(ledSettle)); err != nil {
			return err
		}
		var err error
		samples, err = j.burst(ctx, samplesPerReading, burstSpacing)
		at = clk.Now()
		return err
	})
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}

	// The estimate, pulled toward the channel's previous one.
	penalty := 0.0
	if !j.snapshot {
		penalty = j.cfg.smoothingPenalizer / interval * samplesPerReading
	}
	levels := make(map[int]float64, len(samples))
	for _, ch := range j.channels() {
		prior, ok := j.prior[ch.number]
		p := penalty
		if !ok {
			p = 0
		}
		v := j.est.level(samples[ch.number], j.offsets[ch.number], prior, p)
		levels[ch.number] = v
		j.prior[ch.number] = v
	}
	if err := j.checkVoltage(levels); err != nil {
		return err
	}

	// REF normalisation.
	if j.ref != nil {
		if err := j.trackReference(levels[j.cfg.ref.number], interval); err != nil {
			return err
		}
	}
	rs := make([]reading, 0, len(j.cfg.signals))
	for _, ch := range j.cfg.signals {
		od := levels[ch.number]
		if j.ref != nil {
			var err error
			if od, err = j.ref.normalize(od); err != nil {
				return fmt.Errorf("reading channel %s: %w", ch.name, err)
			}
		}
		if b, ok := j.blank[ch.name]; ok {
			od -= b
		}
		rs = append(rs, reading{channel: ch.name, angle: ch.angle, od: od, irIntensity: ir})
	}
	j.publish(rs, at)
	return nil
}

// checkVoltage updates each channel's moving average: above 3.0 V a
// warning, above 3.2 V every LED off and a fatal error.
func (j *Job) checkVoltage(levels map[int]float64) error {
	warned := false
	for _, ch := range j.channels() {
		avg := j.overVolt[ch.number].ema.Update(levels[ch.number])
		switch {
		case avg > shutOffVolts:
			if _, err := j.leds.Set(context.Background(), map[string]float64{"A": 0, "B": 0, "C": 0, "D": 0}, JobName); err != nil {
				j.Log.Error("Turning the LEDs off failed: %v", err)
			}
			j.flickerErrorCode()
			msg := fmt.Sprintf("photodiode channel %d reads %.3f V (moving average), above the %.1f V limit of its ADC: every LED is off and od_reading stops; lower ir_led_intensity", ch.number, avg, shutOffVolts)
			j.Log.Error("%s", msg)
			return &fatalError{msg: "od_reading: " + msg}
		case avg > warnVolts && !warned:
			warned = true
			j.flickerErrorCode()
			j.Log.Warning("Photodiode channel %d reads %.3f V (moving average), above %.1f V and near the %.1f V limit of its ADC; lower ir_led_intensity.", ch.number, avg, warnVolts, shutOffVolts)
		}
	}
	return nil
}

func (j *Job) flickerErrorCode() {
	t := j.env.Topic(topic.UniversalExperiment, "monitor", "flicker_led_with_error_code")
	_ = j.Client().Publish(t, []byte(strconv.Itoa(errorCodeOverVoltage)), 0, false)
}

// trackReference folds a REF reading into the tracker; a noisy REF gives a
// warning and puts the dosing automation to sleep.
func (j *Job) trackReference(refV, interval float64) error {
	if j.ref.unity && j.ref.initial == 0 {
		if !(refV > 0) {
			return fmt.Errorf("reading: the reference photodiode (channel %d) reads 0 V, so it cannot set the experiment's scale: is the IR LED on (ir_led_intensity %s)?", j.cfg.ref.number, payload.PyFloat(j.irIntensityNow()))
		}
		j.ref.initial = refV
		if err := j.cache.Set(RefCache, j.Experiment, payload.PyFloat(refV)); err != nil {
			j.Log.Warning("Saving the experiment's first REF reading failed: %v", err)
		}
	}
	rms, noisy := j.ref.update(refV, interval)
	if noisy {
		j.Log.Warning("The reference PD is very noisy (residual %.4f, limit %.4f): changes in OD may be due to noise. Check that the REF photodiode is firmly in its pocket. Pausing dosing_automation.", rms, noiseLimit*math.Sqrt(interval/5))
		t := j.env.Topic(j.Experiment, "dosing_automation", "$state", "set")
		if err := j.Client().Publish(t, []byte("sleeping"), 2, false); err != nil {
			j.Log.Error("Pausing dosing_automation failed: %v", err)
		}
	}
	return nil
}

func (j *Job) irIntensityNow() float64 {
	_, ir := j.settings()
	return ir
}

// publish publishes the readings: od<channel>, ods, and on every fifth
// reading relative_intensity_of_ir_led.
func (j *Job) publish(rs []reading, at time.Time) {
	ts := timestamp(at)
	for _, r := range rs {
		j.SetValue("od"+r.channel, appendRaw(make([]byte, 0, 160), r, ts))
	}
	j.SetValue("ods", appendODs(make([]byte, 0, 64+160*len(rs)), rs, ts))
	if j.ref != nil && j.readings%relativeEvery == 0 {
		if rel, ok := j.ref.intensity(); ok {
			j.SetValue("relative_intensity_of_ir_led", appendRelative(nil, rel, ts))
		}
	}
	j.readings++
}

// describe formats per-channel volts: "1: 0.0123, 2: 0.0101".
func (j *Job) describe(v map[int]float64) string {
	out := ""
	for _, ch := range j.channels() {
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%d: %.4f", ch.number, v[ch.number])
	}
	return out
}
