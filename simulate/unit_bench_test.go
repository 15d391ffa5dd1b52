package simulate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/unit"
)

// turbidostatRun is the stdlib turbidostat, as `pio simulate turbidostat
// --target-biomass 3 --exchange-volume-ml 1` runs it.
var turbidostatRun = Options{Script: "turbidostat", Seed: 1,
	Overrides: map[string]string{"target_biomass": "3", "exchange_volume_ml": "1"}}

// BenchmarkTurbidostat24hWholeUnit is a day of the turbidostat with every
// job a unit runs for a culture: od_reading at upstream's default rate (a
// reading every 5 s), growth_rate_calculating, stirring and the thermostat.
func BenchmarkTurbidostat24hWholeUnit(b *testing.B) {
	target := 30.0
	for b.Loop() {
		o := turbidostatRun
		o.For, o.TargetTemperature = 24*time.Hour, &target
		s, err := Run(context.Background(), o)
		if err != nil || s.Errors != 0 || s.Doses < 50 || s.Readings[0].N != 17280 {
			b.Fatal(err, s.Errors, s.Doses, s.Readings[0].N)
		}
	}
}

// everyJob starts, beside the simulation's own jobs, the LED automation
// (light_dark_cycle), so that a unit runs every job pio has.
func everyJob(c *sched.Virtual, _ *pubsub.Memory, env *runtime.Env) {
	c.Go("led_automation", func() {
		p, err := unit.LoadLibraryProgram("led", "light_dark_cycle", env.Unit, env.Experiment)
		if err != nil {
			panic(err)
		}
		a, err := unit.StartProgram(env, p, unit.ScriptOptions{Overrides: map[string]string{"light_duration_minutes": "600", "dark_duration_minutes": "840"}})
		if err != nil {
			panic(err)
		}
		_ = a.Run(context.Background())
	})
}

// weekOfEveryJob runs a simulated week of a unit running every job, and
// returns the live heap after a forced GC at the end of each day.
func weekOfEveryJob(t testing.TB, days int) (heap []uint64) {
	heap = make([]uint64, days+1)
	target := 30.0
	o := turbidostatRun
	o.For, o.TargetTemperature = time.Duration(days)*24*time.Hour+time.Minute, &target
	o.At = func(c *sched.Virtual, b *pubsub.Memory, env *runtime.Env) {
		everyJob(c, b, env)
		for day := 1; day <= days; day++ {
			c.At(Epoch.Add(time.Duration(day)*24*time.Hour), func() {
				goruntime.GC()
				var m goruntime.MemStats
				goruntime.ReadMemStats(&m)
				heap[day] = m.HeapAlloc
			})
		}
	}
	s, err := Run(context.Background(), o)
	if err != nil || s.Errors != 0 {
		t.Fatal(err, s.ErrorMessages)
	}
	return heap
}

// TestEveryJobLiveHeapIsFlat: a unit running every job for three simulated
// days keeps its live heap flat (upstream's users report a slow leak in
// dosing automations). BenchmarkEveryJobWeek measures a week.
func TestEveryJobLiveHeapIsFlat(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("three simulated days of every job")
	}
	heap := weekOfEveryJob(t, 3)
	const slack = 512 << 10
	if heap[1] == 0 || float64(heap[3]) > 1.1*float64(heap[1])+slack {
		t.Fatalf("live heap %d KiB on day 1, %d KiB on day 3: not flat", heap[1]>>10, heap[3]>>10)
	}
	t.Logf("live heap %d KiB on day 1, %d KiB on day 3", heap[1]>>10, heap[3]>>10)
}

// BenchmarkEveryJobWeek runs a simulated week of a unit running every job
// (the turbidostat, od_reading, growth_rate_calculating, stirring, the
// thermostat, light_dark_cycle and the monitor) in a child process, and
// reports the child's peak resident memory and its live heap on day 1 and
// day 7.
func BenchmarkEveryJobWeek(b *testing.B) {
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEveryJobWeekChild$", "-test.v")
		cmd.Env = append(os.Environ(), "PIO_WEEK_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		rss := int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "heap" {
				v, _ := strconv.ParseFloat(f[2], 64)
				b.ReportMetric(v/1024, "heap-day"+f[1]+"-KiB")
			}
		}
	}
}

// TestEveryJobWeekChild is BenchmarkEveryJobWeek's child.
func TestEveryJobWeekChild(t *testing.T) {
	if os.Getenv("PIO_WEEK_CHILD") == "" {
		t.Skip("run by BenchmarkEveryJobWeek")
	}
	heap := weekOfEveryJob(t, 7)
	fmt.Printf("heap 1 %d\nheap 7 %d\n", heap[1], heap[7])
}
