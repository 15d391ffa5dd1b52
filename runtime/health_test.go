package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/sched"
)

func TestSelfCheckInterval(t *testing.T) {
	for _, tc := range []struct {
		value string // "" leaves the default
		want  time.Duration
		bad   bool
	}{
		{"", 12 * time.Hour, false},
		{"24", 24 * time.Hour, false},
		{"0.5", 30 * time.Minute, false},
		{"0", 0, false},
		{"-1", 12 * time.Hour, true},
		{"nope", 12 * time.Hour, true},
		{"1e300", 12 * time.Hour, true},
	} {
		cfg := config.New()
		if tc.value != "" {
			cfg.Set("monitor.config", "self_check_interval_hours", tc.value)
		}
		got, err := selfCheckInterval(cfg)
		if got != tc.want || (err != nil) != tc.bad {
			t.Errorf("self_check_interval_hours=%q: %v, %v; want %v, error %v", tc.value, got, err, tc.want, tc.bad)
		}
		if tc.bad && !strings.Contains(err.Error(), "[monitor.config] self_check_interval_hours:") {
			t.Errorf("self_check_interval_hours=%q: error %q does not name the key", tc.value, err)
		}
	}
}

// A refused interval in a file names the file and line; the monitor still
// starts, warns, and checks every 12 h.
func TestMonitorWarnsOfABadIntervalByFileAndLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.ini")
	if err := os.WriteFile(file, []byte("[monitor.config]\n\nself_check_interval_hours=-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.env.Config = cfg
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.checkEvery != DefaultSelfCheckInterval {
		t.Errorf("interval %v, want the default", m.checkEvery)
	}
	logs := h.payloads("pioreactor/unit1/$experiment/logs/monitor/warning")
	if len(logs) != 1 || !strings.Contains(logs[0], "config.ini:3") || !strings.Contains(logs[0], "every 12h0m0s") {
		t.Errorf("warnings %q; want one naming config.ini:3 and the 12 h used", logs)
	}
}

// Every key of [monitor.config] is read: a bad value is refused by name.
func TestMonitorReadsEveryKeyOfItsSection(t *testing.T) {
	n := 0
	for section, owner := range config.OwnedSections {
		if !strings.HasPrefix(owner, "runtime") {
			continue
		}
		for _, key := range config.New().Section(section).Keys() {
			n++
			cfg := config.New()
			cfg.Set(section, key, "not a value")
			if _, err := selfCheckInterval(cfg); err == nil || !strings.Contains(err.Error(), "["+section+"] "+key+":") {
				t.Errorf("[%s] %s = not a value: err = %v; want it refused by name", section, key, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no section of config.OwnedSections is owned by runtime")
	}
}

// fakeMachine counts the probes' calls and returns what the test sets.
type fakeMachine struct {
	free     uint64
	diskErr  error
	celsius  float64
	hasCPU   bool
	disk     int
	cpu      int
	lastPath string
}

func (f *fakeMachine) probes() probes {
	return probes{
		home: "/pio/home",
		diskFree: func(path string) (uint64, error) {
			f.disk++
			f.lastPath = path
			return f.free, f.diskErr
		},
		cpuCelsius: func() (float64, bool, error) {
			f.cpu++
			return f.celsius, f.hasCPU, nil
		},
	}
}

type statistics struct {
	Disk      *float64 `json:"available_disk_space"`
	CPU       *float64 `json:"cpu_temperature_celcius"`
	Timestamp string   `json:"timestamp"`
}

func (h *harness) statistics() []statistics {
	h.t.Helper()
	var out []statistics
	for _, m := range h.published("pioreactor/unit1/$experiment/monitor/computer_statistics") {
		if !m.Retained {
			h.t.Errorf("computer_statistics not retained: %s", m.Payload)
		}
		var s statistics
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			h.t.Fatalf("computer_statistics %s: %v", m.Payload, err)
		}
		out = append(out, s)
	}
	return out
}

// startMonitorOn starts the monitor with fake probes and runs it on the
// virtual clock; the returned func stops it and reports whether Run ended.
func startMonitorOn(h *harness, f *fakeMachine) (*Monitor, func() bool) {
	h.t.Helper()
	m, err := StartMonitor(h.env)
	if err != nil {
		h.t.Fatal(err)
	}
	m.Log.OnRecord = h.logf
	m.probes = f.probes()
	ctx, cancel := context.WithCancel(context.Background())
	ended := false
	h.clk.Go("monitor", func() {
		if err := m.Run(ctx); err != nil {
			h.t.Error(err)
		}
		ended = true
	})
	return m, func() bool {
		cancel()
		h.settle()
		return ended
	}
}

func TestSelfChecksRunAtStartAndEveryInterval(t *testing.T) {
	h := newHarness(t, "monitor.config self_check_interval_hours 6")
	f := &fakeMachine{free: 120e9, celsius: 45.04, hasCPU: true}
	_, stop := startMonitorOn(h, f)
	h.clk.RunUntil(context.Background(), epoch.Add(25*time.Hour))
	if f.disk != 5 || f.cpu != 5 || f.lastPath != "/pio/home" {
		t.Errorf("in 25 h every 6 h: %d disk and %d CPU checks of %q; want 5 each, of the home", f.disk, f.cpu, f.lastPath)
	}
	stats := h.statistics()
	if len(stats) != 5 {
		t.Fatalf("%d computer_statistics in 25 h, want 5", len(stats))
	}
	for i, s := range stats {
		want := epoch.Add(time.Duration(i) * 6 * time.Hour).Format("2006-01-02T15:04:05Z")
		if s.Disk == nil || *s.Disk != 120 || s.CPU == nil || *s.CPU != 45 || s.Timestamp != want {
			t.Errorf("computer_statistics %d: disk %v, CPU %v at %s; want 120 GB, 45 °C at %s", i, s.Disk, s.CPU, s.Timestamp, want)
		}
	}
	if h.logged("WARNING", "Self-check") {
		t.Errorf("warnings on a healthy machine: %q", h.rec.Logs())
	}
	if !stop() {
		t.Fatal("Run did not end with its context")
	}
	h.clk.RunUntil(context.Background(), epoch.Add(100*time.Hour))
	if f.disk != 5 {
		t.Errorf("%d disk checks after the monitor ended, want still 5", f.disk)
	}
}

func TestSelfCheckOnceWithIntervalZero(t *testing.T) {
	h := newHarness(t, "monitor.config self_check_interval_hours 0")
	f := &fakeMachine{free: 120e9}
	m, stop := startMonitorOn(h, f)
	h.clk.RunUntil(context.Background(), epoch.Add(100*time.Hour))
	if f.disk != 1 || len(h.statistics()) != 1 {
		t.Errorf("interval 0: %d checks, %d statistics in 100 h; want 1 each", f.disk, len(h.statistics()))
	}
	if s := h.statistics()[0]; s.CPU != nil {
		t.Errorf("no CPU temperature on this machine, yet %v published", *s.CPU)
	}
	if m.State() != Ready {
		t.Errorf("after its one check the monitor is %s, want ready", m.State())
	}
	// Nothing is left on the clock but the monitor waiting.
	for _, a := range h.clk.Actors() {
		if strings.Contains(a, "self-check") {
			t.Errorf("actor %q still there after the one check", a)
		}
	}
	stop()
}

// Disconnecting the monitor ($state/set) ends Run and its self-checks.
func TestSelfChecksEndWhenTheMonitorIsDisconnected(t *testing.T) {
	h := newHarness(t, "monitor.config self_check_interval_hours 1")
	f := &fakeMachine{free: 120e9}
	_, stop := startMonitorOn(h, f)
	h.clk.RunUntil(context.Background(), epoch.Add(90*time.Minute))
	h.set("pioreactor/unit1/$experiment/monitor/$state/set", "disconnected")
	h.clk.RunUntil(context.Background(), epoch.Add(10*time.Hour))
	if f.disk != 2 {
		t.Errorf("%d checks, want 2 (at 0 and 1 h, before the disconnect at 1.5 h)", f.disk)
	}
	if !stop() {
		t.Error("Run did not end with the disconnect")
	}
}

func TestSelfCheckWarnsWithErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     fakeMachine
		warns []string
	}{
		{"healthy", fakeMachine{free: 3e9, celsius: 80, hasCPU: true}, nil},
		{"disk almost full", fakeMachine{free: 2.5e9, celsius: 50, hasCPU: true},
			[]string{"only 2.50 GB of disk space left on the filesystem of /pio/home, below 3 GB: error code 3 (disk almost full)"}},
		{"CPU too hot", fakeMachine{free: 50e9, celsius: 85.26, hasCPU: true},
			[]string{"CPU temperature 85.3 °C is above 80 °C: error code 6 (PCB temperature too high)"}},
		{"both", fakeMachine{free: 1e8, celsius: 90, hasCPU: true}, []string{"error code 3", "error code 6"}},
		{"disk unknown", fakeMachine{diskErr: errors.New("statfs /pio/home: no such file or directory")},
			[]string{"the free disk space of /pio/home is unknown: statfs /pio/home: no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "monitor.config self_check_interval_hours 0")
			_, stop := startMonitorOn(h, &tc.f)
			h.settle()
			defer stop()
			var warnings []string
			for _, l := range h.rec.Logs() {
				if strings.HasPrefix(l, "WARNING: ") {
					warnings = append(warnings, l)
				}
			}
			if len(warnings) != len(tc.warns) {
				t.Fatalf("warnings %q, want %d", warnings, len(tc.warns))
			}
			for i, w := range tc.warns {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not contain %q", warnings[i], w)
				}
			}
		})
	}
}

func TestMonitorLogsErrorCodes(t *testing.T) {
	h := newHarness(t)
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Log.OnRecord = h.logf
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "4")
	h.set("pioreactor/unit1/$experiment/monitor/flicker_led_with_error_code", " 5\n")
	h.set("pioreactor/unit1/exp2/monitor/flicker_led_with_error_code", "9")
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "nope")
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "4.0")
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "")
	h.set("pioreactor/unit2/exp1/monitor/flicker_led_with_error_code", "6") // another unit's
	for _, w := range []string{
		"pioreactor/unit1/exp1/monitor/flicker_led_with_error_code: error code 4 (stirring failed)",
		"pioreactor/unit1/$experiment/monitor/flicker_led_with_error_code: error code 5 (ADC input too high)",
		"pioreactor/unit1/exp2/monitor/flicker_led_with_error_code: error code 9 (an unknown code",
		`want an integer error code, got "nope"; ignored`,
		`want an integer error code, got "4.0"; ignored`,
	} {
		if !h.logged("WARNING", w) {
			t.Errorf("no warning containing %q in %q", w, h.rec.Logs())
		}
	}
	if h.logged("WARNING", "unit2") || m.ErrorCodes() != 3 {
		t.Errorf("%d error codes, logs %q; want 3 of this unit", m.ErrorCodes(), h.rec.Logs())
	}
	if m.State() != Ready {
		t.Errorf("monitor %s after bad payloads, want ready", m.State())
	}
}

func TestErrorCodeMeanings(t *testing.T) {
	want := []string{"", "no network", "no MQTT connection to the leader", "disk almost full", "stirring failed",
		"ADC input too high", "PCB temperature too high", "voltage problem", "webserver offline", ""}
	for code, w := range want {
		if got := ErrorCodeMeaning(code); got != w {
			t.Errorf("code %d: %q, want %q", code, got, w)
		}
	}
}

func TestMonitorWarnsOncePerLostJob(t *testing.T) {
	h := newHarness(t)
	// A job lost before the monitor started: noted, not warned about.
	if err := h.ctl.Publish("pioreactor/unit1/exp1/od_reading/$state", []byte("lost"), 2, true); err != nil {
		t.Fatal(err)
	}
	var m *Monitor
	h.do(func() {
		var err error
		if m, err = StartMonitor(h.env); err != nil {
			t.Fatal(err)
		}
		m.Log.OnRecord = h.logf
	})
	defer m.Close()
	state := func(job, s string) { h.set("pioreactor/unit1/exp1/"+job+"/$state", s) }
	state("stirring", "ready")
	state("stirring", "lost")
	state("stirring", "lost")
	state("stirring", "init")
	state("stirring", "ready")
	state("stirring", "lost")
	state("temperature_automation", "disconnected")
	h.set("pioreactor/unit2/exp1/stirring/$state", "lost") // another unit's
	var lost []string
	for _, l := range h.rec.Logs() {
		if strings.Contains(l, "was lost") {
			lost = append(lost, l)
		}
	}
	want := []string{
		"INFO: od_reading in experiment exp1 was lost before the monitor started.",
		"WARNING: stirring in experiment exp1 was lost: its process ended",
		"WARNING: stirring in experiment exp1 was lost: its process ended",
	}
	if len(lost) != len(want) {
		t.Fatalf("lost records %q, want %d", lost, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lost[i], w) {
			t.Errorf("record %q, want %q", lost[i], w)
		}
	}
	// The announced experiment still counts (the liquid model's rule).
	if _, err := m.Liquid("exp1"); err != nil {
		t.Error(err)
	}
}

func TestReadCPUCelsius(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if c, ok, err := readCPUCelsius(write("good", "45123\n")); c != 45.123 || !ok || err != nil {
		t.Errorf("45123: %v %v %v", c, ok, err)
	}
	if _, ok, err := readCPUCelsius(filepath.Join(dir, "absent")); ok || err != nil {
		t.Errorf("absent file: ok %v, err %v; want skipped", ok, err)
	}
	if _, ok, err := readCPUCelsius(write("bad", "hot")); ok || err == nil || !strings.Contains(err.Error(), "thousandths") {
		t.Errorf("garbage: ok %v, err %v; want an error", ok, err)
	}
}

func TestMachineProbes(t *testing.T) {
	dir := t.TempDir()
	free, err := statfsFree(dir)
	if err != nil || free == 0 {
		t.Errorf("statfs of %s: %d bytes, %v", dir, free, err)
	}
	if _, err := statfsFree(filepath.Join(dir, "absent")); err == nil {
		t.Error("statfs of a missing directory: no error")
	}
	virtual := machineProbes(&Env{Sched: sched.NewVirtual(epoch), Liquid: &liquid.FileStore{Path: filepath.Join(dir, "bioreactor.json")}})
	if virtual.diskFree != nil || virtual.cpuCelsius != nil {
		t.Error("a unit in virtual time measures the host")
	}
	onReal := machineProbes(&Env{Sched: sched.NewReal(nil), Liquid: &liquid.FileStore{Path: filepath.Join(dir, "bioreactor.json")}})
	if onReal.diskFree == nil || onReal.cpuCelsius == nil || onReal.home != dir {
		t.Errorf("real time: home %q, probes %v %v; want the store's directory and both probes", onReal.home, onReal.diskFree != nil, onReal.cpuCelsius != nil)
	}
	if p := machineProbes(&Env{Sched: sched.NewReal(nil), Liquid: liquid.NewMemStore()}); p.diskFree != nil {
		t.Error("no file store, yet the disk is measured")
	}
}

// In virtual time without probes (pio simulate) the monitor sets no timer.
func TestNoSelfChecksWithoutProbes(t *testing.T) {
	h := newHarness(t)
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.clk.Go("monitor", func() { _ = m.Run(ctx) })
	h.clk.RunUntil(context.Background(), epoch.Add(48*time.Hour))
	if n := len(h.statistics()); n != 0 {
		t.Errorf("%d computer_statistics without probes", n)
	}
	cancel()
	h.settle()
}
