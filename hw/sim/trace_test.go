package sim

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// weekClock is a fake clock: Now is whatever the test last set.
type weekClock struct{ t time.Time }

func (c *weekClock) Now() time.Time { return c.t }

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryFlatOverAWeek runs a reactor through a simulated week: the
// stirrer's controller retunes its duty every 5 s and a chemostat doses every
// 2 minutes (about 140,000 duty changes). The live heap on day 7 must be that
// of day 1, within 10 % and 256 KiB.
func TestMemoryFlatOverAWeek(t *testing.T) {
	clk := &weekClock{t0}
	r := New(clk, Options{Seed: 1})
	stir, _ := r.Open(1, 200)
	media, _ := r.Open(2, 250)
	waste, _ := r.Open(4, 250)
	const day = 24 * time.Hour
	var day1 uint64
	var changes int64
	for d := 1; d <= 7; d++ {
		end := t0.Add(time.Duration(d) * day)
		for clk.t.Before(end) {
			s := clk.t.Sub(t0)
			stir.SetDuty(40 + float64(s/(5*time.Second)%7)) // 40 to 46 %
			if s%(2*time.Minute) == 0 {
				media.SetDuty(100)
				waste.SetDuty(100)
			}
			if s%(2*time.Minute) == 5*time.Second {
				media.SetDuty(0)
				waste.SetDuty(0)
			}
			clk.t = clk.t.Add(5 * time.Second)
		}
		r.State()
		if d == 1 {
			day1 = liveHeap()
		}
	}
	day7 := liveHeap()
	changes = r.DutyChanges(1) + r.DutyChanges(2) + r.DutyChanges(4)
	t.Logf("%d duty changes in a week; live heap %d KiB on day 1, %d KiB on day 7", changes, day1>>10, day7>>10)
	if changes < 100000 {
		t.Fatalf("only %d duty changes: the test does not exercise the trace", changes)
	}
	if limit := day1 + day1/10 + 256<<10; day7 > limit {
		t.Errorf("live heap grew from %d B (day 1) to %d B (day 7), over %d B", day1, day7, limit)
	}
	if tr := r.DutyTrace(); len(tr) != DutyTraceLen || !tr[len(tr)-1].At.Equal(clk.t.Add(-5*time.Second)) {
		t.Errorf("trace of %d changes, the last at %v", len(tr), tr[len(tr)-1].At)
	}
}

// TestDutyTraceKeepsTheLatest: the trace is the last DutyTraceLen changes,
// oldest first, however many there were.
func TestDutyTraceKeepsTheLatest(t *testing.T) {
	clk := &weekClock{t0}
	r := New(clk, Options{})
	if tr := r.DutyTrace(); tr != nil {
		t.Errorf("trace before any change: %v", tr)
	}
	idle, _ := r.Open(2, 250)
	idle.SetDuty(0) // no change: not traced
	if len(r.DutyTrace()) != 0 || r.DutyChanges(2) != 0 {
		t.Error("a duty set to what it was counted as a change")
	}
	for _, n := range []int{1, DutyTraceLen - 1, DutyTraceLen, DutyTraceLen + 1, 3*DutyTraceLen + 17} {
		r := New(clk, Options{})
		p, _ := r.Open(2, 250)
		for i := 1; i <= n; i++ {
			clk.t = t0.Add(time.Duration(i) * time.Second)
			p.SetDuty(float64(i%2) * 50) // 50, 0, 50, ...
		}
		tr := r.DutyTrace()
		want := min(n, DutyTraceLen)
		if len(tr) != want {
			t.Fatalf("%d changes: trace of %d, want %d", n, len(tr), want)
		}
		for k, c := range tr {
			i := n - want + 1 + k
			if !c.At.Equal(t0.Add(time.Duration(i)*time.Second)) || c.Duty != float64(i%2)*50 || c.Channel != 2 || c.Device != "media" {
				t.Fatalf("%d changes: trace[%d] = %+v, want change %d", n, k, c, i)
			}
		}
		if got := r.DutyChanges(2); got != int64(n) {
			t.Errorf("DutyChanges = %d, want %d", got, n)
		}
	}
}

// TestDutyObserver: the observer sees each change, in order, without the
// reactor's lock held (it may call the reactor, and change a duty itself).
func TestDutyObserver(t *testing.T) {
	clk := &weekClock{t0}
	r := New(clk, Options{})
	media, _ := r.Open(2, 250)
	waste, _ := r.Open(4, 250)
	type call struct {
		ch   int
		dev  string
		duty float64
	}
	var got []call
	r.SetDutyObserver(func(ch int, dev string, duty float64) {
		got = append(got, call{ch, dev, duty})
		r.State() // would deadlock if the lock were held
		if ch == 2 && duty == 100 {
			waste.SetDuty(100) // a change from inside the observer
			if len(got) != 1 {
				t.Errorf("the nested change was delivered inside the call in progress")
			}
		}
	})
	media.SetDuty(100)
	if len(got) != 2 {
		t.Fatalf("after SetDuty returned: %v", got)
	}
	media.SetDuty(100) // no change, no call
	r.HaltAll()
	media.Close() // already 0: no call
	want := []call{{2, "media", 100}, {4, "waste", 100}, {2, "media", 0}, {4, "waste", 0}}
	if len(got) != len(want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("observed %v, want %v", got, want)
			break
		}
	}
	r.SetDutyObserver(nil)
	waste.SetDuty(10)
	if len(got) != len(want) {
		t.Error("observer called after it was removed")
	}
}

// TestDutyObserverConcurrent: with changes from many goroutines, the
// observer is called one at a time, once per change, and the last call for
// each channel carries its final duty.
func TestDutyObserverConcurrent(t *testing.T) {
	r := New(&weekClock{t0}, Options{Devices: map[int]string{1: "a", 2: "b", 3: "c", 4: "d"}})
	var (
		inside atomic.Int32
		calls  atomic.Int64
		mu     sync.Mutex
		last   = map[int]float64{}
	)
	r.SetDutyObserver(func(ch int, _ string, duty float64) {
		if inside.Add(1) != 1 {
			t.Error("observer called concurrently")
		}
		mu.Lock()
		last[ch] = duty
		mu.Unlock()
		calls.Add(1)
		inside.Add(-1)
	})
	var wg sync.WaitGroup
	for ch := 1; ch <= 4; ch++ {
		p, _ := r.Open(ch, 100)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 1000; i++ {
				p.SetDuty(float64(i % 100))
			}
		}()
	}
	wg.Wait()
	var total int64
	for ch := 1; ch <= 4; ch++ {
		total += r.DutyChanges(ch)
		if last[ch] != 0 { // 1000 % 100
			t.Errorf("channel %d last observed at %v, want 0", ch, last[ch])
		}
	}
	if calls.Load() != total {
		t.Errorf("%d observer calls for %d changes", calls.Load(), total)
	}
}
