package selftest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/leds"
)

// Sections of the optics, as od_reading reads them.
const (
	photodiodeSection = "od_config.photodiode_channel"
	odReadingSection  = "od_reading.config"
)

// autoIRIntensity is where upstream's ir_led_intensity=auto starts.
const autoIRIntensity = 85

// photodiodes returns the photodiode channels in use, 1 to 4, with their
// role in [od_config.photodiode_channel] (REF or an angle). A channel a file
// leaves empty is unused, even where the defaults give it a role.
func (b *bench) photodiodes() (chans []int, roles map[int]string, err error) {
	cfg := b.env.Config
	sec := cfg.Section(photodiodeSection)
	roles = map[int]string{}
	for ch := 1; ch <= 4; ch++ {
		key := strconv.Itoa(ch)
		role, inFile := cfg.Get(photodiodeSection, key)
		if !inFile {
			role = sec.String(key)
		}
		if role = strings.TrimSpace(role); role != "" {
			chans = append(chans, ch)
			roles[ch] = role
		}
	}
	if err := sec.Err(); err != nil {
		return nil, nil, err
	}
	if len(chans) == 0 {
		return nil, nil, fmt.Errorf("no photodiode channel is in use in [%s]", photodiodeSection)
	}
	return chans, roles, nil
}

// reference returns the ADC of the REF photodiode.
func (b *bench) reference(s hw.Sensors) (hw.ADC, error) {
	chans, roles, err := b.photodiodes()
	if err != nil {
		return nil, err
	}
	for _, ch := range chans {
		if strings.EqualFold(roles[ch], "REF") {
			return s.Photodiode(ch)
		}
	}
	return nil, fmt.Errorf("no photodiode channel is REF in [%s]: the IR LED's light cannot be measured", photodiodeSection)
}

// irIntensity is od_reading's IR intensity, [od_reading.config]
// ir_led_intensity (auto: where upstream's auto starts).
func (b *bench) irIntensity() (float64, error) {
	sec := b.env.Config.Section(odReadingSection)
	if strings.EqualFold(strings.TrimSpace(sec.String("ir_led_intensity")), "auto") {
		return autoIRIntensity, nil
	}
	v := sec.Float("ir_led_intensity", func(f float64) bool { return f >= 0 && f <= 100 }, "a percentage from 0 to 100, or auto")
	return v, sec.Err()
}

// meanVolts is the mean of a burst of the limits' samples of adc. It waits
// until the burst's last sample on the unit's clock, so it takes the same
// time on a board (whose Burst takes it) and on the simulator (whose Burst
// returns at once).
func (b *bench) meanVolts(ctx context.Context, adc hw.ADC) (float64, error) {
	samples, err := adc.Burst(ctx, b.limits.Samples, b.limits.SampleSpacing)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", adc, err)
	}
	if len(samples) == 0 {
		return 0, fmt.Errorf("%s: a burst of %d samples returned none", adc, b.limits.Samples)
	}
	if err := b.env.Sched.SleepUntil(ctx, samples[len(samples)-1].At); err != nil {
		return 0, err
	}
	sum := 0.0
	for _, s := range samples {
		sum += s.Volts
	}
	return sum / float64(len(samples)), nil
}

// setLEDs sets every LED channel: the IR channel to ir, the others to 0.
func setLEDs(l hw.LEDs, irChannel string, ir float64) error {
	for _, ch := range leds.Channels {
		v := 0.0
		if ch == irChannel {
			v = ir
		}
		if err := l.SetIntensity(ch, v); err != nil {
			return err
		}
	}
	return nil
}

// ledsOff sets every LED channel to 0 and adds a failure to do so to *err:
// deferred by every check that touches the LEDs.
func ledsOff(err *error, l hw.LEDs) {
	if oerr := setLEDs(l, "", 0); oerr != nil {
		*err = errors.Join(*err, fmt.Errorf("turning the LEDs off: %w", oerr))
	}
}

// checkDark reads every photodiode in use with every LED off.
func checkDark(ctx context.Context, b *bench) (msg string, err error) {
	s, err := b.sensors()
	if err != nil {
		return "", err
	}
	chans, roles, err := b.photodiodes()
	if err != nil {
		return "", err
	}
	l, err := s.LEDs()
	if err != nil {
		return "", err
	}
	defer ledsOff(&err, l)
	if err := setLEDs(l, "", 0); err != nil {
		return "", err
	}
	if err := b.sleep(ctx, b.limits.LEDSettle); err != nil {
		return "", err
	}
	var read []string
	for _, ch := range chans {
		adc, err := s.Photodiode(ch)
		if err != nil {
			return "", err
		}
		v, err := b.meanVolts(ctx, adc)
		if err != nil {
			return "", err
		}
		if v > b.limits.DarkMaxVolts {
			return "", fmt.Errorf("photodiode %d (%s) reads %.4f V with every LED off, want at most %g V: is light getting in, or is the photodiode faulty?", ch, roles[ch], v, b.limits.DarkMaxVolts)
		}
		read = append(read, fmt.Sprintf("%d (%s) %.4f V", ch, roles[ch], v))
	}
	return strings.Join(read, ", "), nil
}

// checkReference reads REF with the IR LED at od_reading's intensity.
func checkReference(ctx context.Context, b *bench) (msg string, err error) {
	s, err := b.sensors()
	if err != nil {
		return "", err
	}
	ref, err := b.reference(s)
	if err != nil {
		return "", err
	}
	ir, err := leds.ChannelOf(b.env.Config, "IR")
	if err != nil {
		return "", err
	}
	intensity, err := b.irIntensity()
	if err != nil {
		return "", err
	}
	l, err := s.LEDs()
	if err != nil {
		return "", err
	}
	defer ledsOff(&err, l)
	if err := setLEDs(l, ir, intensity); err != nil {
		return "", err
	}
	if err := b.sleep(ctx, b.limits.LEDSettle); err != nil {
		return "", err
	}
	v, err := b.meanVolts(ctx, ref)
	if err != nil {
		return "", err
	}
	lo, hi := b.limits.RefMinVolts, b.limits.RefMaxVolts
	if v < lo || v > hi {
		return "", fmt.Errorf("REF reads %.4f V with the IR LED (%s) at %g %%, want %g V to %g V", v, ir, intensity, lo, hi)
	}
	return fmt.Sprintf("REF %.4f V with the IR LED (%s) at %g %%", v, ir, intensity), nil
}
