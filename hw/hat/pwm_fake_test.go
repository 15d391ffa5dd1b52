package hat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pwmClock is a clock whose waits return at once, advancing it.
type pwmClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newPWMClock() *pwmClock { return &pwmClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *pwmClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *pwmClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.slept = append(c.slept, t.Sub(c.now))
		c.now = t
	}
	return nil
}

// fakeSysfs is a directory shaped like /sys/class/pwm with one chip, whose
// writes are recorded (path relative to the root, value without newline). An
// export creates the channel's directory and files, as the kernel does.
type fakeSysfs struct {
	t      *testing.T
	root   string
	mu     sync.Mutex
	writes []string
	// fail returns an error for a write, or nil.
	fail func(rel, value string) error
	// noExport leaves an export without effect.
	noExport bool
}

func newFakeSysfs(t *testing.T, chip int) *fakeSysfs {
	t.Helper()
	root := t.TempDir()
	chipDir := filepath.Join(root, fmt.Sprintf("pwmchip%d", chip))
	if err := os.MkdirAll(chipDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"export", "unexport", "npwm"} {
		if err := os.WriteFile(filepath.Join(chipDir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &fakeSysfs{t: t, root: root}
}

// channel creates an exported channel with its attributes.
func (f *fakeSysfs) channel(chip, index int, enable string, period, duty int64) {
	f.t.Helper()
	dir := filepath.Join(f.root, fmt.Sprintf("pwmchip%d/pwm%d", chip, index))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	for name, v := range map[string]string{"enable": enable, "period": fmt.Sprint(period), "duty_cycle": fmt.Sprint(duty), "polarity": "normal"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fakeSysfs) write(path, value string) error {
	rel, err := filepath.Rel(f.root, path)
	if err != nil {
		return err
	}
	v := strings.TrimSuffix(value, "\n")
	if !strings.HasSuffix(value, "\n") {
		f.t.Errorf("write %q to %s: no newline", value, rel)
	}
	f.mu.Lock()
	f.writes = append(f.writes, rel+" <- "+v)
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		if err := fail(rel, v); err != nil {
			return err
		}
	}
	if err := writeSysfsFile(path, value); err != nil {
		return err
	}
	if filepath.Base(rel) == "export" && !f.noExport {
		var chip, index int
		fmt.Sscanf(filepath.Dir(rel), "pwmchip%d", &chip)
		fmt.Sscanf(v, "%d", &index)
		f.channel(chip, index, "0", 0, 0)
	}
	return nil
}

// take returns the writes so far and forgets them.
func (f *fakeSysfs) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.writes
	f.writes = nil
	return w
}

func (f *fakeSysfs) sysfs(chip int, clk *pwmClock) *Sysfs {
	return &Sysfs{Root: f.root, Chip: chip, Clock: clk, write: f.write}
}

func (f *fakeSysfs) read(rel string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.root, rel))
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func sameWrites(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: writes\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
