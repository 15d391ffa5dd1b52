package selftest

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// pumps are the devices of [PWM] that move liquid: every device but the
// stirrer and the heater, in channel order, waste last (it takes away what
// the others added).
func (b *bench) pumps() []string {
	chans := make([]int, 0, len(b.opts.PWM))
	for ch := range b.opts.PWM {
		chans = append(chans, ch)
	}
	sort.Ints(chans)
	var out []string
	waste := false
	for _, ch := range chans {
		switch dev := b.opts.PWM[ch]; dev {
		case "", "stirring", "heating":
		case "waste":
			waste = true
		default:
			out = append(out, dev)
		}
	}
	if waste {
		out = append(out, "waste")
	}
	return out
}

// checkPumps runs each pump for the pump run and, where the board can tell,
// checks that it moved liquid.
func checkPumps(ctx context.Context, b *bench) (string, error) {
	pumps := b.pumps()
	if len(pumps) == 0 {
		return "", fmt.Errorf("no pump is wired in [PWM] (media, alt_media, waste, ...)")
	}
	var moved []string
	for _, dev := range pumps {
		ml, err := runPump(ctx, b, dev)
		if err != nil {
			return "", fmt.Errorf("%s: %w", dev, err)
		}
		if b.movedML == nil {
			moved = append(moved, dev)
			continue
		}
		if ml < b.limits.MinPumpedML {
			return "", fmt.Errorf("%s moved %.3f mL in %v at %g %%, want at least %g mL", dev, ml, b.limits.PumpRun, b.limits.PumpDuty, b.limits.MinPumpedML)
		}
		moved = append(moved, fmt.Sprintf("%s %.3f mL", dev, ml))
	}
	if b.movedML == nil {
		return fmt.Sprintf("%s ran %v each at %g %%; this board cannot measure liquid: check that each moved some", strings.Join(moved, ", "), b.limits.PumpRun, b.limits.PumpDuty), nil
	}
	return fmt.Sprintf("%s in %v each at %g %%", strings.Join(moved, ", "), b.limits.PumpRun, b.limits.PumpDuty), nil
}

// runPump runs dev's pump for the pump run and returns the liquid it moved
// (0 where the board cannot tell).
func runPump(ctx context.Context, b *bench, dev string) (ml float64, err error) {
	ch, err := b.device(dev)
	if err != nil {
		return 0, err
	}
	var before float64
	if b.movedML != nil {
		before = b.movedML(dev)
	}
	out, err := b.open(ch, b.limits.PumpHz)
	if err != nil {
		return 0, err
	}
	defer off(&err, out)
	if err := out.SetDuty(b.limits.PumpDuty); err != nil {
		return 0, err
	}
	if err := b.sleep(ctx, b.limits.PumpRun); err != nil {
		return 0, err
	}
	if err := out.SetDuty(0); err != nil {
		return 0, err
	}
	if b.movedML != nil {
		ml = b.movedML(dev) - before
	}
	return ml, nil
}
