package hat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
)

// The reference's fixture 24: GPIO13 at 250 Hz on chip 0, pwm1 not exported.
func TestSysfsPWMSequence(t *testing.T) {
	fs := newFakeSysfs(t, 0)
	clk := newPWMClock()
	p, err := fs.sysfs(0, clk).Open(context.Background(), 1, 2, 13, 250)
	if err != nil {
		t.Fatal(err)
	}
	sameWrites(t, "open", fs.take(), []string{
		"pwmchip0/export <- 1",
		"pwmchip0/pwm1/period <- 4000000",
		"pwmchip0/pwm1/duty_cycle <- 0",
	})
	steps := []struct {
		duty float64
		want []string
	}{
		{100, []string{"pwmchip0/pwm1/duty_cycle <- 4000000", "pwmchip0/pwm1/enable <- 1"}},
		{50, []string{"pwmchip0/pwm1/duty_cycle <- 2000000"}},
		{0, []string{"pwmchip0/pwm1/duty_cycle <- 0"}},
		{12.5, []string{"pwmchip0/pwm1/duty_cycle <- 500000"}},
	}
	for _, s := range steps {
		if err := p.SetDuty(s.duty); err != nil {
			t.Fatal(err)
		}
		sameWrites(t, fmt.Sprintf("SetDuty(%g)", s.duty), fs.take(), s.want)
		if p.Duty() != s.duty {
			t.Errorf("Duty() = %g after SetDuty(%g)", p.Duty(), s.duty)
		}
	}
	if got := fs.read("pwmchip0/pwm1/enable"); got != "1" {
		t.Errorf("enable = %q while running", got)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	sameWrites(t, "Close", fs.take(), []string{"pwmchip0/pwm1/duty_cycle <- 0", "pwmchip0/pwm1/enable <- 0"})
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := p.Halt(); err != nil {
		t.Errorf("Halt after Close: %v", err)
	}
	sameWrites(t, "Close and Halt after Close", fs.take(), nil)
	if err := p.SetDuty(10); !errors.Is(err, hw.ErrClosed) {
		t.Errorf("SetDuty after Close = %v, want hw.ErrClosed", err)
	}
	if p.Hz() != 250 || p.Channel() != 2 || p.Pin() != 13 {
		t.Errorf("Hz, Channel, Pin = %g, %d, %d", p.Hz(), p.Channel(), p.Pin())
	}
}

func TestSysfsPWMPeriods(t *testing.T) {
	for _, c := range []struct {
		hz         float64
		period     string
		duty       float64
		dutyWanted string
	}{
		{200, "5000000", 30, "1500000"},
		{16, "62500000", 12.34, "7712500"},
		{60, "16666666", 50, "8333333"}, // from the unrounded period, truncated
	} {
		fs := newFakeSysfs(t, 2)
		fs.channel(2, 0, "0", 0, 0) // already exported: no export write
		p, err := fs.sysfs(2, newPWMClock()).Open(context.Background(), 0, 4, 12, c.hz)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetDuty(c.duty); err != nil {
			t.Fatal(err)
		}
		sameWrites(t, fmt.Sprintf("%g Hz at %g %%", c.hz, c.duty), fs.take(), []string{
			"pwmchip2/pwm0/period <- " + c.period,
			"pwmchip2/pwm0/duty_cycle <- 0",
			"pwmchip2/pwm0/duty_cycle <- " + c.dutyWanted,
			"pwmchip2/pwm0/enable <- 1",
		})
	}
}

// The reference's fixture 25: the first two duty_cycle writes are refused
// while udev fixes the permissions; the third succeeds after 50 + 100 ms.
func TestSysfsPWMPermissionRace(t *testing.T) {
	fs := newFakeSysfs(t, 0)
	refusals := 2
	fs.fail = func(rel, v string) error {
		if strings.HasSuffix(rel, "duty_cycle") && refusals > 0 {
			refusals--
			return &os.PathError{Op: "open", Path: rel, Err: syscall.EACCES}
		}
		return nil
	}
	clk := newPWMClock()
	if _, err := fs.sysfs(0, clk).Open(context.Background(), 1, 2, 13, 250); err != nil {
		t.Fatal(err)
	}
	sameWrites(t, "open", fs.take(), []string{
		"pwmchip0/export <- 1",
		"pwmchip0/pwm1/period <- 4000000",
		"pwmchip0/pwm1/duty_cycle <- 0",
		"pwmchip0/pwm1/duty_cycle <- 0",
		"pwmchip0/pwm1/duty_cycle <- 0",
	})
	if fmt.Sprint(clk.slept) != "[50ms 100ms]" {
		t.Errorf("waits %v, want [50ms 100ms]", clk.slept)
	}
}

func TestSysfsPWMErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("no overlay", func(t *testing.T) {
		s := &Sysfs{Root: t.TempDir(), Chip: 0, Clock: newPWMClock()}
		_, err := s.Open(ctx, 0, 4, 12, 250)
		if err == nil || !strings.Contains(err.Error(), "pwmchip0 is missing") || !strings.Contains(err.Error(), "dtoverlay=pwm-2chan") || !strings.Contains(err.Error(), "GPIO12") {
			t.Errorf("error %v: want one naming the chip, the overlay and the pin", err)
		}
	})
	t.Run("export never appears", func(t *testing.T) {
		fs := newFakeSysfs(t, 0)
		fs.noExport = true
		clk := newPWMClock()
		start := clk.Now()
		_, err := fs.sysfs(0, clk).Open(ctx, 1, 2, 13, 250)
		if err == nil || !strings.Contains(err.Error(), "did not appear within 10s") {
			t.Errorf("error %v: want the export's time-out", err)
		}
		if waited := clk.Now().Sub(start); waited != 10*time.Second {
			t.Errorf("waited %s on the clock, want 10s", waited)
		}
	})
	t.Run("permission refused for good", func(t *testing.T) {
		fs := newFakeSysfs(t, 0)
		fs.fail = func(rel, v string) error {
			if strings.HasSuffix(rel, "period") {
				return &os.PathError{Op: "open", Path: rel, Err: syscall.EACCES}
			}
			return nil
		}
		clk := newPWMClock()
		_, err := fs.sysfs(0, clk).Open(ctx, 1, 2, 13, 250)
		if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "write 4000000 to") || !strings.Contains(err.Error(), "PWM channel 2 (GPIO13)") {
			t.Errorf("error %v: want a permission error naming the value, file and channel", err)
		}
		if n := len(clk.slept); n != permMaxAttempts-1 {
			t.Errorf("%d waits, want %d", n, permMaxAttempts-1)
		}
	})
	t.Run("other write error is not retried", func(t *testing.T) {
		fs := newFakeSysfs(t, 0)
		fs.fail = func(rel, v string) error {
			if strings.HasSuffix(rel, "enable") {
				return &os.PathError{Op: "write", Path: rel, Err: syscall.EINVAL}
			}
			return nil
		}
		clk := newPWMClock()
		p, err := fs.sysfs(0, clk).Open(ctx, 1, 2, 13, 250)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetDuty(50); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("SetDuty error %v, want EINVAL", err)
		}
		if len(clk.slept) != 0 {
			t.Errorf("waited %v, want no retry", clk.slept)
		}
	})
	t.Run("frequency", func(t *testing.T) {
		fs := newFakeSysfs(t, 0)
		for _, hz := range []float64{0, -5, 2e6} {
			if _, err := fs.sysfs(0, newPWMClock()).Open(ctx, 1, 2, 13, hz); err == nil || !strings.Contains(err.Error(), "frequency") {
				t.Errorf("Open at %g Hz: %v, want a frequency error", hz, err)
			}
		}
		sameWrites(t, "bad frequencies", fs.take(), nil)
	})
	t.Run("duty", func(t *testing.T) {
		fs := newFakeSysfs(t, 0)
		p, err := fs.sysfs(0, newPWMClock()).Open(ctx, 1, 2, 13, 250)
		if err != nil {
			t.Fatal(err)
		}
		fs.take()
		for _, d := range []float64{-1, 100.5} {
			if err := p.SetDuty(d); err == nil || !strings.Contains(err.Error(), "PWM channel 2") {
				t.Errorf("SetDuty(%g) = %v, want an error naming the channel", d, err)
			}
		}
		sameWrites(t, "bad duties", fs.take(), nil)
	})
}

func TestSysfsHaltEnabled(t *testing.T) {
	fs := newFakeSysfs(t, 0)
	fs.channel(0, 0, "1", 4000000, 4000000) // a pump left on at 100 %
	fs.channel(0, 1, "0", 4000000, 0)       // exported, off
	stale, err := fs.sysfs(0, newPWMClock()).HaltEnabled(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 1 || stale[0] != (StaleChannel{Chip: 0, Index: 0, PeriodNS: 4000000, DutyNS: 4000000}) {
		t.Fatalf("stale = %v, want pwm0 at 100 %%", stale)
	}
	if got := stale[0].String(); got != "pwmchip0/pwm0 (left enabled at 100 % of 4000000 ns)" {
		t.Errorf("String() = %q", got)
	}
	sameWrites(t, "halt", fs.take(), []string{"pwmchip0/pwm0/duty_cycle <- 0", "pwmchip0/pwm0/enable <- 0"})
	if fs.read("pwmchip0/pwm0/enable") != "0" {
		t.Error("pwm0 still enabled")
	}
	// A machine without the overlay has nothing to halt.
	none, err := (&Sysfs{Root: t.TempDir()}).HaltEnabled(context.Background())
	if err != nil || len(none) != 0 {
		t.Errorf("no chip: %v, %v", none, err)
	}
}
