package hat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A kernel PWM channel keeps its duty after the process that set it dies:
// SIGKILL, an OOM kill or a crash mid-dose leaves a pump on GPIO12 or GPIO13
// pumping. What protects against it:
//
//   - the next start of the hardware layer (NewPWMController) disables every
//     channel of its chip that is left enabled and whose pin no live process
//     holds (the pin's flock, which the kernel drops with its process), and
//     reports each one;
//   - HaltEnabled, the same without the locks, for a unit's stop command
//     (systemd ExecStopPost=) once no pio process runs.
//
// Between the death and the next start nothing does: a hardware watchdog is
// out of scope.

// StaleChannel is a kernel PWM channel found enabled and disabled.
type StaleChannel struct {
	Chip, Index int
	// PeriodNS and DutyNS are what the channel was running at.
	PeriodNS, DutyNS int64
}

// Duty is the percent the channel was running at.
func (c StaleChannel) Duty() float64 { return dutyPercent(c.DutyNS, c.PeriodNS) }

func (c StaleChannel) String() string {
	return fmt.Sprintf("pwmchip%d/pwm%d (left enabled at %g %% of %d ns)", c.Chip, c.Index, c.Duty(), c.PeriodNS)
}

// HaltEnabled disables every exported channel of the chip that is enabled
// (duty_cycle 0, then enable 0) and returns them. A chip that is absent has
// none. It does not look at the pin locks: use it only when no pio process
// drives the unit.
func (s *Sysfs) HaltEnabled(ctx context.Context) ([]StaleChannel, error) {
	return s.haltEnabled(ctx, func(int) bool { return true })
}

// haltEnabled is HaltEnabled for the channels that free(index) allows.
func (s *Sysfs) haltEnabled(ctx context.Context, free func(index int) bool) ([]StaleChannel, error) {
	indexes, err := s.exported()
	if err != nil {
		return nil, err
	}
	var stale []StaleChannel
	for _, index := range indexes {
		dir := filepath.Join(s.chipDir(), "pwm"+strconv.Itoa(index))
		enabled, err := readAttr(filepath.Join(dir, "enable"))
		if err != nil {
			return stale, fmt.Errorf("hardware PWM: %w", err)
		}
		if enabled != "1" || !free(index) {
			continue
		}
		c := StaleChannel{Chip: s.Chip, Index: index}
		c.PeriodNS = readInt(filepath.Join(dir, "period"))
		c.DutyNS = readInt(filepath.Join(dir, "duty_cycle"))
		if err := s.writeAttr(ctx, filepath.Join(dir, "duty_cycle"), "0"); err != nil {
			return stale, err
		}
		if err := s.writeAttr(ctx, filepath.Join(dir, "enable"), "0"); err != nil {
			return stale, err
		}
		stale = append(stale, c)
	}
	return stale, nil
}

// exported lists the pwm<N> directories of the chip, in order.
func (s *Sysfs) exported() ([]int, error) {
	entries, err := os.ReadDir(s.chipDir())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hardware PWM: %w", err)
	}
	var indexes []int
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "pwm")
		if !ok {
			continue
		}
		if i, err := strconv.Atoi(n); err == nil && i >= 0 {
			indexes = append(indexes, i)
		}
	}
	sort.Ints(indexes)
	return indexes, nil
}

// readInt reads a numeric attribute; unreadable is 0 (the value is only
// reported).
func readInt(path string) int64 {
	s, err := readAttr(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
