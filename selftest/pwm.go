package selftest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/piolab/pio/config"
)

// checkPWMOutputs opens each channel [PWM] wires, sets it to the readback
// duty for an instant, reads the duty back and sets it to 0.
func checkPWMOutputs(ctx context.Context, b *bench) (string, error) {
	chans := make([]int, 0, len(b.opts.PWM))
	for ch := range b.opts.PWM {
		chans = append(chans, ch)
	}
	if len(chans) == 0 {
		return "", fmt.Errorf("no channel is wired in [PWM]")
	}
	sort.Ints(chans)
	var ok []string
	for _, ch := range chans {
		if err := readBack(b, ch); err != nil {
			return "", fmt.Errorf("channel %d (%s): %w", ch, b.opts.PWM[ch], err)
		}
		ok = append(ok, fmt.Sprintf("%d (%s)", ch, b.opts.PWM[ch]))
	}
	return fmt.Sprintf("channels %s read back %g %%", strings.Join(ok, ", "), b.limits.ReadbackDuty), nil
}

// readBack sets channel to the readback duty, reads it back, and leaves it
// at 0, closed.
func readBack(b *bench, channel int) (err error) {
	out, err := b.open(channel, b.hzOf(b.opts.PWM[channel]))
	if err != nil {
		return err
	}
	defer off(&err, out)
	want := b.limits.ReadbackDuty
	if err := out.SetDuty(want); err != nil {
		return err
	}
	got := out.Duty()
	if err := out.SetDuty(0); err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("set to %g %%, it reads back %g %%", want, got)
	}
	if d := out.Duty(); d != 0 {
		return fmt.Errorf("set to 0 %%, it reads back %g %%", d)
	}
	return nil
}

// hzOf is the PWM frequency of device: the stirrer's [stirring.config]
// pwm_hz, the heater's and the pumps' from the limits.
func (b *bench) hzOf(device string) float64 {
	switch device {
	case "heating":
		return b.limits.HeaterHz
	case "stirring":
		sec := b.env.Config.Section(stirringSection)
		if hz := sec.Float("pwm_hz", config.Positive, "a positive frequency in Hz"); sec.Err() == nil {
			return hz
		}
	}
	return b.limits.PumpHz
}
