package hat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/hw"
)

// Sysfs is the kernel's PWM class (/sys/class/pwm): the hardware PWM of
// GPIO12 and GPIO13 once the OS image's pwm-2chan overlay is loaded. Root is
// injectable so tests run on a directory that mimics it.
type Sysfs struct {
	// Root is the PWM class directory; empty means /sys/class/pwm.
	Root string
	// Chip is the pwmchip number: 0, or 2 on a Raspberry Pi 5 running a
	// 6.6 kernel.
	Chip int
	// Clock paces the waits for an export and the retries of a write
	// refused while udev fixes the new files' permissions; nil means the
	// wall clock.
	Clock clock.Clock

	// write writes one sysfs attribute; tests replace it to record the
	// writes and inject errors.
	write func(path, value string) error
}

// The bounds of the waits around an export, as upstream's library has them.
const (
	exportTimeout   = 10 * time.Second
	exportPoll      = 50 * time.Millisecond
	permFirstWait   = 50 * time.Millisecond
	permMaxAttempts = 7 // waits of 50, 100, ... 1600 ms: 3.15 s in all
)

func (s *Sysfs) root() string {
	if s.Root == "" {
		return "/sys/class/pwm"
	}
	return s.Root
}

func (s *Sysfs) clock() clock.Clock {
	if s.Clock == nil {
		return clock.Real{}
	}
	return s.Clock
}

func (s *Sysfs) chipDir() string {
	return filepath.Join(s.root(), "pwmchip"+strconv.Itoa(s.Chip))
}

// writeAttr writes value and a newline to an attribute, retrying while the
// kernel or udev refuses it for permissions (the files of a fresh export
// belong to root for a moment).
func (s *Sysfs) writeAttr(ctx context.Context, path, value string) error {
	write := s.write
	if write == nil {
		write = writeSysfsFile
	}
	wait := permFirstWait
	for attempt := 1; ; attempt++ {
		err := write(path, value+"\n")
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrPermission) || attempt == permMaxAttempts {
			return fmt.Errorf("hardware PWM: write %s to %s: %w", value, path, err)
		}
		if err := clock.Sleep(ctx, s.clock(), wait); err != nil {
			return fmt.Errorf("hardware PWM: write %s to %s: %w", value, path, err)
		}
		wait *= 2
	}
}

// writeSysfsFile writes an existing attribute; it never creates a file.
func writeSysfsFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// export makes pwm<index> appear under the chip, if it is not there yet,
// and waits (at most 10 s) until it is.
func (s *Sysfs) export(ctx context.Context, index int) (string, error) {
	chip := s.chipDir()
	if _, err := os.Stat(chip); err != nil {
		return "", fmt.Errorf("hardware PWM: %s is missing: add dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4 to /boot/firmware/config.txt and reboot (%w)", chip, err)
	}
	dir := filepath.Join(chip, "pwm"+strconv.Itoa(index))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := s.writeAttr(ctx, filepath.Join(chip, "export"), strconv.Itoa(index)); err != nil {
		return "", err
	}
	c := s.clock()
	deadline := c.Now().Add(exportTimeout)
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir, nil
		}
		if !c.Now().Before(deadline) {
			return "", fmt.Errorf("hardware PWM: %s did not appear within %s of the export", dir, exportTimeout)
		}
		if err := clock.Sleep(ctx, c, exportPoll); err != nil {
			return "", err
		}
	}
}

// SysfsPWM is one kernel PWM channel driving a HAT PWM channel. It follows
// upstream's sequence: on open, export if needed, period, duty 0; the first
// non-zero duty writes duty_cycle then enable 1; later changes write
// duty_cycle only; Halt and Close write duty_cycle 0 then enable 0. Close does
// not unexport (as upstream).
type SysfsPWM struct {
	sys      *Sysfs
	dir      string
	channel  int
	pin      int
	hz       float64
	periodNS float64 // unrounded, as upstream computes duties from it

	mu      sync.Mutex
	duty    float64
	enabled bool
	closed  bool
}

var _ hw.PWM = (*SysfsPWM)(nil)

// Open opens kernel PWM channel index (0 for GPIO12, 1 for GPIO13) as
// HAT PWM channel channel on pin, at hz, with the line low. ctx bounds the
// waits of the export.
func (s *Sysfs) Open(ctx context.Context, index, channel, pin int, hz float64) (*SysfsPWM, error) {
	if !(hz > 0 && hz <= MaxHardwareHz) {
		return nil, fmt.Errorf("hardware PWM channel %d (GPIO%d): frequency %g Hz is outside 0 to %g Hz", channel, pin, hz, MaxHardwareHz)
	}
	dir, err := s.export(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("PWM channel %d (GPIO%d): %w", channel, pin, err)
	}
	p := &SysfsPWM{sys: s, dir: dir, channel: channel, pin: pin, hz: hz, periodNS: 1e9 / hz}
	if err := p.write("period", strconv.FormatInt(int64(p.periodNS), 10)); err != nil {
		return nil, err
	}
	if err := p.write("duty_cycle", "0"); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *SysfsPWM) write(attr, value string) error {
	if err := p.sys.writeAttr(context.Background(), filepath.Join(p.dir, attr), value); err != nil {
		return fmt.Errorf("PWM channel %d (GPIO%d): %w", p.channel, p.pin, err)
	}
	return nil
}

// String implements hw.Resource.
func (p *SysfsPWM) String() string {
	return fmt.Sprintf("PWM channel %d (GPIO%d, hardware %s)", p.channel, p.pin, p.dir)
}

// SetDuty implements hw.PWM.
func (p *SysfsPWM) SetDuty(percent float64) error {
	if err := hw.CheckDuty(percent); err != nil {
		return fmt.Errorf("PWM channel %d: duty %g: %w", p.channel, percent, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("PWM channel %d (GPIO%d): %w", p.channel, p.pin, hw.ErrClosed)
	}
	ns := int64(p.periodNS * percent / 100)
	if err := p.write("duty_cycle", strconv.FormatInt(ns, 10)); err != nil {
		return err
	}
	p.duty = percent
	if !p.enabled && percent > 0 {
		if err := p.write("enable", "1"); err != nil {
			return err
		}
		p.enabled = true
	}
	return nil
}

// Duty implements hw.PWM.
func (p *SysfsPWM) Duty() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.duty
}

// Hz implements hw.PWM.
func (p *SysfsPWM) Hz() float64 { return p.hz }

// Channel implements hw.PWM.
func (p *SysfsPWM) Channel() int { return p.channel }

// Pin is the GPIO pin the channel drives.
func (p *SysfsPWM) Pin() int { return p.pin }

// Halt implements hw.Resource: duty 0 and the channel disabled. It writes
// both every time it is called on an open channel, and nothing once closed.
func (p *SysfsPWM) Halt() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	return p.haltLocked()
}

func (p *SysfsPWM) haltLocked() error {
	p.duty = 0
	err := p.write("duty_cycle", "0")
	if werr := p.write("enable", "0"); err == nil {
		err = werr
	}
	if err == nil {
		p.enabled = false
	}
	return err
}

// Close implements hw.PWM: it halts the channel. A second Close does nothing.
func (p *SysfsPWM) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.haltLocked()
}

// readAttr reads an attribute as text without its newline.
func readAttr(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// dutyPercent is for reports: a duty as a percent of its period, 2 dp.
func dutyPercent(dutyNS, periodNS int64) float64 {
	if periodNS <= 0 {
		return 0
	}
	return math.Round(float64(dutyNS)/float64(periodNS)*1e4) / 100
}
