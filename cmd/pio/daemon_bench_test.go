package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// clockTicks is Linux's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat: 100 on every Linux architecture pio runs on.
const clockTicks = 100

// BenchmarkDaemonIdle measures what a unit's daemon costs while it hosts a
// living reactor: stirring, od_reading, growth_rate_calculating and a
// turbidostat (whose target is not reached, so it doses nothing) on the
// simulated board. b.N is the length of the window in seconds:
//
//	go test ./cmd/pio -run '^$' -bench DaemonIdle -benchtime 60x
//
// measures one minute. It reports the CPU time of the daemon's processes
// (pio daemon and the child it runs in, under its memory budget) as a
// percentage of one core and as CPU seconds per hour, and their resident
// memory at the end of the window (VmRSS, VmHWM and Pss), each for the
// parent, the child and both. Summed RSS counts the executable's pages
// twice; summed Pss counts them once.
// It is a measurement, not an assertion.
func BenchmarkDaemonIdle(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs Linux's /proc")
	}
	env, addr := benchHome(b)
	obs := benchObserve(b, addr)

	daemon := pioIn(env, "daemon")
	var stderr strings.Builder
	daemon.Stderr = &stderr
	if err := daemon.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		daemon.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { daemon.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			daemon.Process.Kill()
		}
	})
	obs.waitFor(b, "pioreactor/d1/$experiment/daemon/$state", "ready", &stderr)

	for _, argv := range [][]string{
		{"run", "stirring"},
		{"run", "od_reading"},
		{"run", "growth_rate_calculating"},
		{"run", "dosing_automation", "--automation-name", "turbidostat", "--target-biomass", "100", "--exchange-volume-ml", "1.0"},
	} {
		if out, err := pioIn(env, argv...).CombinedOutput(); err != nil {
			b.Fatalf("pio %s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		obs.waitFor(b, "pioreactor/d1/e1/"+argv[1]+"/$state", "ready", &stderr)
	}
	// The growth rate comes after the warm-up's readings (one every 5 s by
	// default); the turbidostat runs on each one after that.
	const growthRate = "pioreactor/d1/e1/growth_rate_calculating/growth_rate"
	obs.waitForCount(b, growthRate, 1, 3*time.Minute, &stderr)
	time.Sleep(5 * time.Second)
	rates := obs.count(growthRate)

	parent := daemon.Process.Pid
	before := cpuTicks(b, parent)
	b.ResetTimer()
	start := time.Now()
	time.Sleep(time.Duration(b.N) * time.Second)
	elapsed := time.Since(start).Seconds()
	after := cpuTicks(b, parent)
	b.StopTimer()
	if b.N >= 10 && obs.count(growthRate) == rates {
		b.Fatalf("no growth rate was published during the window: the reactor was not running\n%s", stderr.String())
	}

	if len(after) != 2 {
		b.Fatalf("the daemon runs as %d processes %v, want 2 (pio daemon and its child)", len(after), after)
	}
	var child int
	for pid := range after {
		if pid != parent {
			child = pid
		}
	}
	if _, ok := before[child]; !ok {
		b.Fatalf("the daemon's child %d started during the window: it restarted\n%s", child, stderr.String())
	}
	report := func(suffix string, pids ...int) {
		var ticks int64
		var rss, hwm, pss float64
		for _, pid := range pids {
			ticks += after[pid] - before[pid]
			m := memoryMB(b, pid)
			rss += m.rss
			hwm += m.hwm
			pss += m.pss
		}
		cpu := float64(ticks) / clockTicks
		b.ReportMetric(100*cpu/elapsed, "%cpu"+suffix)
		b.ReportMetric(3600*cpu/elapsed, "cpu-s/h"+suffix)
		b.ReportMetric(rss, "MB-rss"+suffix)
		b.ReportMetric(hwm, "MB-hwm"+suffix)
		b.ReportMetric(pss, "MB-pss"+suffix)
	}
	report("", parent, child)
	report("-parent", parent)
	report("-child", child)
}

// benchHome is daemonHome for a benchmark: a home and run dir of their own
// on an embedded broker.
func benchHome(b *testing.B) (env []string, addr string) {
	addr = mqtttest.StartEmbedded(b)
	port := addr[strings.LastIndex(addr, ":")+1:]
	dir := b.TempDir()
	// A warm-up of 2 readings instead of 10 starts the growth rate (and
	// the turbidostat, which runs on it) sooner; the steady state is the
	// same. The benchmark sets up twice: Go runs it with b.N=1 first.
	cfg := fmt.Sprintf("[mqtt]\nbroker_port=%s\n[cluster.topology]\nunit_name=d1\nexperiment=e1\n"+
		"[growth_rate_calculating.config]\nsamples_for_od_statistics=2\n", port)
	if err := os.WriteFile(filepath.Join(dir, "config.ini"), []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	return append(os.Environ(), "PIO_HOME="+dir, "PIO_RUN_DIR="+filepath.Join(dir, "run")), addr
}

// benchObserver records the last payload of each topic under pioreactor/.
type benchObserver struct{ *observer }

func benchObserve(b *testing.B, addr string) benchObserver {
	c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: fmt.Sprintf("bench-%d", time.Now().UnixNano())}, 5*time.Second)
	if err != nil {
		b.Fatalf("no broker at %s: %v", addr, err)
	}
	b.Cleanup(func() { c.Close() })
	o := &observer{client: c}
	c.Subscribe("pioreactor/#", 1, func(m pubsub.Message) {
		o.mu.Lock()
		o.msgs = append(o.msgs, m)
		o.mu.Unlock()
	})
	return benchObserver{o}
}

func (o benchObserver) waitFor(b *testing.B, topic, payload string, stderr *strings.Builder) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for o.last(topic) != payload {
		if time.Now().After(deadline) {
			b.Fatalf("%s never became %q (last %q)\n%s", topic, payload, o.last(topic), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// count is how many messages topic has carried.
func (o benchObserver) count(topic string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, m := range o.msgs {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

// waitForCount waits until topic has carried n messages.
func (o benchObserver) waitForCount(b *testing.B, topic string, n int, timeout time.Duration, stderr *strings.Builder) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for o.count(topic) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%s carried %d messages in %s, want %d\n%s", topic, o.count(topic), timeout, n, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cpuTicks returns utime+stime, in clock ticks, of pid and each of its
// descendants.
func cpuTicks(b *testing.B, pid int) map[int]int64 {
	ticks := map[int]int64{}
	var walk func(pid int)
	walk = func(pid int) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatalf("process %d: %v", pid, err)
		}
		// The fields after the command name, which is in parentheses and
		// may contain spaces: state is field 3, utime 14, stime 15.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		utime, err1 := strconv.ParseInt(f[14-3], 10, 64)
		stime, err2 := strconv.ParseInt(f[15-3], 10, 64)
		if err1 != nil || err2 != nil {
			b.Fatalf("/proc/%d/stat: utime %q, stime %q", pid, f[14-3], f[15-3])
		}
		ticks[pid] = utime + stime
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, t := range tasks {
			kids, _ := os.ReadFile(t)
			for _, k := range strings.Fields(string(kids)) {
				if kid, err := strconv.Atoi(k); err == nil {
					walk(kid)
				}
			}
		}
	}
	walk(pid)
	return ticks
}

// memory is a process's resident memory, in MB: now (VmRSS), at its peak
// (VmHWM), and its proportional share (Pss), which counts a page shared
// with other processes (pio's executable, mapped by the parent and the
// child) once across them rather than once in each.
type memory struct{ rss, hwm, pss float64 }

func memoryMB(b *testing.B, pid int) memory {
	kB := func(file, key string) float64 {
		text, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
		if err != nil {
			b.Fatalf("process %d: %v", pid, err)
		}
		for _, line := range strings.Split(string(text), "\n") {
			if v, ok := strings.CutPrefix(line, key+":"); ok {
				n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				if err != nil {
					b.Fatalf("/proc/%d/%s: %s %q", pid, file, key, v)
				}
				return n
			}
		}
		b.Fatalf("/proc/%d/%s has no %s", pid, file, key)
		return 0
	}
	return memory{rss: kB("status", "VmRSS") / 1000, hwm: kB("status", "VmHWM") / 1000, pss: kB("smaps_rollup", "Pss") / 1000}
}
