package stirring

import (
	"strings"
	"testing"
	"time"
)

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// The four cases of upstream's test_dodging_timing.py.
func TestDodgeTiming(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(s float64) time.Time { return t0.Add(secs(s)) }
	for _, tc := range []struct {
		name                 string
		interval, first, now float64
		pre, post, after     float64
		wantToNext, wantWait float64
		wantErr              bool
	}{
		{"inside the interval", 5, 100, 112, 1.5, 0.5, 0.2, 3, 1.5, false},
		{"a longer interval", 10, 100, 107.5, 1.0, 0.5, 0.1, 2.5, 1.5, false},
		{"at a reading: a full interval, not 0", 5, 100, 105, 0, 0, 0, 5, 4, false},
		{"no budget left", 4, 100, 101, 1.5, 1.5, 0.6, 3, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			toNext, wait, err := DodgeTiming(secs(tc.interval), at(tc.first), at(tc.now), secs(tc.pre), secs(tc.post), secs(tc.after))
			if toNext != secs(tc.wantToNext) {
				t.Errorf("time to next OD = %v; want %v", toNext, secs(tc.wantToNext))
			}
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "leaves -600ms of the 4s interval") {
					t.Errorf("error %v; want one about the -600ms left", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if wait != secs(tc.wantWait) {
				t.Errorf("wait = %v; want %v", wait, secs(tc.wantWait))
			}
		})
	}
}

func TestTimeToNextODBeforeTheFirstReading(t *testing.T) {
	first := time.Unix(100, 0)
	if got := TimeToNextOD(5*time.Second, first, first.Add(-2*time.Second)); got != 2*time.Second {
		t.Errorf("2 s before the first reading: %v; want 2s", got)
	}
}

func TestCheckDodgeDelays(t *testing.T) {
	if err := checkDodgeDelays(5*time.Second, 1500*time.Millisecond, 250*time.Millisecond); err != nil {
		t.Errorf("5 s interval, 1.5 + 0.25 s: %v", err)
	}
	if err := checkDodgeDelays(4*time.Second, 1500*time.Millisecond, 1500*time.Millisecond); err == nil {
		t.Error("4 s interval, 1.5 + 1.5 s: no error; want one (3 s is not below 3 s)")
	}
}
