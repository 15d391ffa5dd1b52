package sched

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// periodic runs body every period until the clock's end.
func periodic(s Scheduler, period time.Duration, body func()) {
	next := s.Now().Add(period)
	for s.SleepUntil(context.Background(), next) == nil {
		body()
		next = next.Add(period)
	}
}

func TestTwoPeriodsOnOneClock(t *testing.T) {
	v := NewVirtual(epoch)
	v.SetLimit(epoch.Add(time.Hour))
	fast, slow := 0, 0
	v.Go("fast", func() { periodic(v, 5*time.Second, func() { fast++ }) })
	v.Go("slow", func() { periodic(v, 20*time.Minute, func() { slow++ }) })
	v.Run(context.Background())
	if fast != 720 || slow != 3 {
		t.Fatalf("in a simulated hour: fast job ran %d times (want 720), slow %d (want 3)", fast, slow)
	}
	if got := v.Now(); !got.Equal(epoch.Add(time.Hour)) {
		t.Fatalf("clock ended at %v, want the limit", got.Sub(epoch))
	}
	if a := v.Actors(); len(a) != 0 {
		t.Fatalf("actors left: %v", a)
	}
}

func TestReactorSeesEveryMessageInOrderAtItsTime(t *testing.T) {
	v := NewVirtual(epoch)
	v.SetLimit(epoch.Add(time.Hour))
	type msg struct {
		n  int
		at time.Time
	}
	in := NewInbox[msg](v)
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	v.Go("publisher", func() {
		n := 0
		periodic(v, 5*time.Second, func() { n++; in.Put(msg{n, v.Now()}) })
		cancel()
	})
	v.Go("reactor", func() {
		for {
			m, err := in.Get(ctx)
			if err != nil {
				return
			}
			if !v.Now().Equal(m.at) {
				got = append(got, fmt.Sprintf("late:%d", m.n))
			}
			got = append(got, fmt.Sprint(m.n))
		}
	})
	v.Run(context.Background())
	if len(got) != 720 {
		t.Fatalf("reactor saw %d messages, want 720: %v", len(got), got[:min(len(got), 10)])
	}
	for i, g := range got {
		if g != fmt.Sprint(i+1) {
			t.Fatalf("message %d: got %s", i+1, g)
		}
	}
}

// trace runs a busy multi-actor scenario and returns what happened, in order.
func trace() string {
	v := NewVirtual(epoch)
	v.SetLimit(epoch.Add(10 * time.Minute))
	var b strings.Builder
	log := func(who string) { fmt.Fprintf(&b, "%s@%v ", who, v.Now().Sub(epoch)) }
	ctx, cancel := context.WithCancel(context.Background())
	inboxes := make([]*Inbox[int], 4)
	for i := range inboxes {
		inboxes[i] = NewInbox[int](v)
		i := i
		v.Go(fmt.Sprint("consumer", i), func() {
			for {
				n, err := inboxes[i].Get(ctx)
				if err != nil {
					log(fmt.Sprint("c", i, "-stop"))
					return
				}
				log(fmt.Sprint("c", i, ":", n))
				if n%3 == 0 {
					_ = v.SleepUntil(ctx, v.Now().Add(time.Duration(n)*time.Millisecond))
				}
			}
		})
	}
	for p := range 3 {
		v.Go(fmt.Sprint("producer", p), func() {
			for n := 0; ; n++ {
				if v.SleepUntil(ctx, v.Now().Add(time.Duration(700+p*300)*time.Millisecond)) != nil {
					return
				}
				for _, in := range inboxes {
					in.Put(n*10 + p)
				}
				if n%5 == 0 {
					_ = v.SleepUntil(ctx, v.Now()) // a yield
				}
			}
		})
	}
	v.Go("stopper", func() {
		_ = v.SleepUntil(context.Background(), epoch.Add(7*time.Minute))
		log("stop")
		cancel()
	})
	v.Run(context.Background())
	return b.String()
}

func TestDeterministicAcrossRunsAndGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	first := trace()
	if !strings.Contains(first, "c3-stop") || strings.Count(first, " ") < 1000 {
		t.Fatalf("scenario did not run as intended: %.300s", first)
	}
	for _, procs := range []int{1, 2, 4, 2} {
		runtime.GOMAXPROCS(procs)
		if got := trace(); got != first {
			t.Fatalf("GOMAXPROCS=%d: run differs from the first", procs)
		}
	}
}

func TestCancelWakesASleeperAtTheCancellersTime(t *testing.T) {
	v := NewVirtual(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	var woke time.Duration
	var err error
	v.Go("sleeper", func() {
		err = v.SleepUntil(ctx, epoch.Add(24*time.Hour))
		woke = v.Now().Sub(epoch)
	})
	v.Go("canceller", func() {
		_ = v.SleepUntil(context.Background(), epoch.Add(90*time.Second))
		cancel()
	})
	v.Run(context.Background())
	if !errors.Is(err, context.Canceled) || woke != 90*time.Second {
		t.Fatalf("sleeper woke at %v with %v, want 1m30s with context.Canceled", woke, err)
	}
}

func TestLimitEndsWaitsAndRunUntilPauses(t *testing.T) {
	v := NewVirtual(epoch)
	v.SetLimit(epoch.Add(time.Hour))
	var ticks int
	var last error
	v.Go("ticker", func() {
		for {
			if last = v.SleepUntil(context.Background(), v.Now().Add(25*time.Minute)); last != nil {
				return
			}
			ticks++
		}
	})
	v.RunUntil(context.Background(), epoch.Add(30*time.Minute))
	if ticks != 1 || !v.Now().Equal(epoch.Add(30*time.Minute)) {
		t.Fatalf("after RunUntil(30m): %d ticks at %v, want 1 at 30m", ticks, v.Now().Sub(epoch))
	}
	v.Run(context.Background())
	if ticks != 2 || !errors.Is(last, ErrEndOfTime) || !v.Now().Equal(epoch.Add(time.Hour)) {
		t.Fatalf("after Run: %d ticks, last %v, at %v; want 2, ErrEndOfTime, 1h", ticks, last, v.Now().Sub(epoch))
	}
}

func TestAtCallbacksRunInOrderBetweenActors(t *testing.T) {
	v := NewVirtual(epoch)
	var got []string
	v.At(epoch.Add(2*time.Second), func() { got = append(got, "at2") })
	v.At(epoch.Add(time.Second), func() { got = append(got, "at1") })
	v.Go("a", func() {
		_ = v.SleepUntil(context.Background(), epoch.Add(2*time.Second))
		got = append(got, "a2")
	})
	v.Run(context.Background())
	if strings.Join(got, ",") != "at1,at2,a2" {
		t.Fatalf("order %v, want at1,at2,a2 (ties run in the order they were set)", got)
	}
}

func TestWaitOutsideAnActorIsAnError(t *testing.T) {
	v := NewVirtual(epoch)
	if err := v.SleepUntil(context.Background(), epoch.Add(time.Second)); !errors.Is(err, ErrNotActor) {
		t.Fatalf("got %v, want ErrNotActor", err)
	}
}

func TestQuiescentRunReturnsAndResumesOnOutsidePut(t *testing.T) {
	v := NewVirtual(epoch)
	in := NewInbox[string](v)
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	v.Go("consumer", func() {
		for {
			s, err := in.Get(ctx)
			if err != nil {
				return
			}
			got = append(got, s)
		}
	})
	v.Run(context.Background()) // blocks on an empty inbox: quiescent
	in.Put("x")
	v.Run(context.Background())
	cancel()
	v.Run(context.Background())
	if strings.Join(got, ",") != "x" || len(v.Actors()) != 0 {
		t.Fatalf("got %v, actors %v", got, v.Actors())
	}
}

func TestRealSchedulerRunsTheSameCode(t *testing.T) {
	r := NewReal(stepClock{})
	in := NewInbox[int](r)
	ctx, cancel := context.WithCancel(context.Background())
	var got []int
	r.Go("consumer", func() {
		for {
			n, err := in.Get(ctx)
			if err != nil {
				return
			}
			got = append(got, n)
			if n == 99 {
				cancel()
			}
		}
	})
	for i := range 100 {
		in.Put(i)
	}
	r.Wait()
	if len(got) != 100 || got[99] != 99 {
		t.Fatalf("real consumer got %d items", len(got))
	}
}

// stepClock is a clock whose waits return at once (the real scheduler's
// tests never sleep).
type stepClock struct{}

func (stepClock) Now() time.Time { return epoch }
func (stepClock) SleepUntil(ctx context.Context, _ time.Time) error {
	return ctx.Err()
}

func BenchmarkVirtualHandoff(b *testing.B) {
	v := NewVirtual(epoch)
	in := NewInbox[int](v)
	ctx, cancel := context.WithCancel(context.Background())
	v.Go("consumer", func() {
		for {
			if _, err := in.Get(ctx); err != nil {
				return
			}
		}
	})
	v.Go("producer", func() {
		for i := 0; i < b.N; i++ {
			in.Put(i)
			_ = v.SleepUntil(ctx, v.Now()) // hand the baton over
		}
		cancel()
	})
	b.ResetTimer()
	v.Run(context.Background())
}

func TestWaitUntilWakesOnPutOrTime(t *testing.T) {
	v := NewVirtual(epoch)
	in := NewInbox[int](v)
	var got []string
	v.Go("waiter", func() {
		for i := 0; i < 3; i++ {
			ok, err := in.WaitUntil(context.Background(), v.Now().Add(time.Minute))
			n, _ := in.TryGet()
			got = append(got, fmt.Sprintf("%v/%v/%d@%v", ok, err, n, v.Now().Sub(epoch)))
		}
	})
	v.Go("putter", func() {
		_ = v.SleepUntil(context.Background(), epoch.Add(10*time.Second))
		in.Put(7)
	})
	v.Run(context.Background())
	want := "true/<nil>/7@10s false/<nil>/0@1m10s false/<nil>/0@2m10s"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}

func TestTimerHeapOrdersByTimeThenSequence(t *testing.T) {
	var h timerHeap
	offsets := []int{5, 1, 3, 1, 9, 0, 3, 3, 7, 2, 0, 5}
	for i, o := range offsets {
		h.push(timer{at: epoch.Add(time.Duration(o) * time.Second), seq: uint64(i)})
	}
	var prev timer
	for i := range offsets {
		got := h.pop()
		if i > 0 && (got.at.Before(prev.at) || got.at.Equal(prev.at) && got.seq < prev.seq) {
			t.Fatalf("pop %d: %v/%d after %v/%d", i, got.at.Sub(epoch), got.seq, prev.at.Sub(epoch), prev.seq)
		}
		prev = got
	}
	if len(h) != 0 {
		t.Fatalf("%d timers left", len(h))
	}
}
