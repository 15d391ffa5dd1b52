package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/sched"
)

// The monitor's self-checks, as upstream's: at start and every
// [monitor.config] self_check_interval_hours, the free disk space of the pio
// home's filesystem and the CPU temperature, each with its error code, and
// the retained computer_statistics.
const (
	// DefaultSelfCheckInterval is used when self_check_interval_hours is
	// not a number of hours from 0 to maxSelfCheckHours.
	DefaultSelfCheckInterval = 12 * time.Hour
	maxSelfCheckHours        = 100000

	// MinFreeDiskBytes: below this, the disk is almost full (error code 3).
	MinFreeDiskBytes = 3e9
	// MaxCPUCelsius: above this, the CPU is too hot (error code 6).
	MaxCPUCelsius = 80.0

	// CPUTemperatureFile is where Linux reports the CPU temperature, in
	// thousandths of a degree Celsius.
	CPUTemperatureFile = "/sys/class/thermal/thermal_zone0/temp"
)

// probes measure the machine the monitor runs on. A nil probe is skipped.
type probes struct {
	// home is the directory whose filesystem diskFree measures.
	home string
	// diskFree returns the bytes available to pio on path's filesystem.
	diskFree func(path string) (uint64, error)
	// cpuCelsius returns the CPU temperature; ok is false when the machine
	// does not report one.
	cpuCelsius func() (c float64, ok bool, err error)
}

// machineProbes are the probes of the machine env runs on. A unit in
// virtual time (pio simulate) has none: the host is not the simulated unit,
// and its free space, which changes from run to run, would make a
// simulation's record differ between runs of the same seed. The disk is
// measured where the liquid store lives (the pio home), and not at all
// without a file store.
func machineProbes(env *Env) probes {
	if _, realTime := env.Sched.(*sched.Real); !realTime {
		return probes{}
	}
	p := probes{cpuCelsius: func() (float64, bool, error) { return readCPUCelsius(CPUTemperatureFile) }}
	if fsStore, ok := env.Liquid.(*liquid.FileStore); ok && fsStore.Path != "" {
		p.home = filepath.Dir(fsStore.Path)
		p.diskFree = statfsFree
	}
	return p
}

// statfsFree returns the bytes available to an unprivileged user on path's
// filesystem.
func statfsFree(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// readCPUCelsius reads a thermal zone's temperature (millidegrees); a
// missing file means the machine reports none.
func readCPUCelsius(file string) (float64, bool, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	milli, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: want thousandths of a degree Celsius, got %.40q", file, b)
	}
	return float64(milli) / 1000, true, nil
}

// selfCheckInterval reads [monitor.config] self_check_interval_hours: 0
// means one self-check, at start. A value that is not a number of hours
// from 0 to maxSelfCheckHours gives DefaultSelfCheckInterval and the error
// (naming file and line), which the monitor logs as a warning.
func selfCheckInterval(cfg *config.Config) (time.Duration, error) {
	sec := cfg.Section("monitor.config")
	h := sec.Float("self_check_interval_hours", config.Within(0, maxSelfCheckHours),
		fmt.Sprintf("a number of hours from 0 to %d (0: check once, at start)", maxSelfCheckHours))
	if err := sec.Err(); err != nil {
		return DefaultSelfCheckInterval, err
	}
	return time.Duration(math.Round(h * float64(time.Hour))), nil
}

// runSelfChecks runs the self-checks until ctx ends: at start, then every
// interval (zero: once). Without probes (pio simulate) there is nothing to
// check, and no timer is set.
func (m *Monitor) runSelfChecks(ctx context.Context) {
	if m.probes.diskFree == nil && m.probes.cpuCelsius == nil {
		m.Log.Debug("Self-checks: nothing to measure on this unit (a simulation in virtual time).")
		return
	}
	p := NewPeriodic(m.env.Sched, 0, m.checkEvery)
	_ = p.Run(ctx, func() bool { return m.State() != Disconnected }, func(context.Context) { m.SelfCheck() })
}

// SelfCheck measures the machine once: it warns, with the error code, when
// the disk is almost full or the CPU too hot, and publishes
// computer_statistics retained when anything was measured.
func (m *Monitor) SelfCheck() {
	p := m.probes
	stats := payload.Object{}
	if p.diskFree != nil {
		free, err := p.diskFree(p.home)
		if err != nil {
			m.Log.Warning("Self-check: the free disk space of %s is unknown: %v", p.home, err)
		} else {
			gb := math.Round(float64(free)/1e7) / 100
			stats = append(stats, payload.Field{Key: "available_disk_space", Value: payload.Float(gb)})
			if float64(free) < MinFreeDiskBytes {
				m.Log.Warning("Self-check: only %.2f GB of disk space left on the filesystem of %s, below %.0f GB: %s",
					gb, p.home, MinFreeDiskBytes/1e9, describeErrorCode(ErrorDiskAlmostFull))
			} else {
				m.Log.Debug("Self-check: %.2f GB of disk space left on the filesystem of %s.", gb, p.home)
			}
		}
	}
	if p.cpuCelsius != nil {
		c, ok, err := p.cpuCelsius()
		switch {
		case err != nil:
			m.Log.Warning("Self-check: the CPU temperature is unknown: %v", err)
		case !ok:
			m.Log.Debug("Self-check: this machine reports no CPU temperature; not checked.")
		default:
			c = math.Round(c*10) / 10
			stats = append(stats, payload.Field{Key: "cpu_temperature_celcius", Value: payload.Float(c)})
			if c > MaxCPUCelsius {
				m.Log.Warning("Self-check: CPU temperature %.1f °C is above %.0f °C: %s", c, MaxCPUCelsius, describeErrorCode(ErrorPCBTooHot))
			} else {
				m.Log.Debug("Self-check: CPU temperature %.1f °C.", c)
			}
		}
	}
	if len(stats) == 0 {
		return
	}
	stats = append(stats, payload.Field{Key: "timestamp", Value: payload.StructTimestamp(m.env.Sched.Now())})
	b, _ := stats.MarshalJSON()
	m.SetValue("computer_statistics", string(b))
}
