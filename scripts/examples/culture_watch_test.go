package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/simulate"
)

// TestCultureWatchPublishesWhatItDerives runs the custom job beside the
// simulated unit's jobs and judges what it published.
func TestCultureWatchPublishesWhatItDerives(t *testing.T) {
	var rec bytes.Buffer
	s := simulateExample(t, "culture_watch.star", 12*time.Hour, &rec)
	if s.AutomationJob != "culture_watch" || s.FinalState != "disconnected" {
		t.Fatalf("job %s, final state %s", s.AutomationJob, s.FinalState)
	}
	got := map[string][]string{}
	sc := bufio.NewScanner(&rec)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r simulate.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if name, ok := strings.CutPrefix(r.Topic, "pioreactor/sim/sim/culture_watch/"); ok {
			if !r.Retained {
				t.Errorf("%s published without retain", r.Topic)
			}
			got[name] = append(got[name], r.Payload)
		}
	}
	// A summary every 10 minutes once readings come (the first run has none),
	// cleared at the end as every reading of the job.
	if n := len(got["summary"]); n != 12*6-1+1 {
		t.Errorf("%d summaries, want 71 and the clearing", n)
	}
	if a := got["od_alarm_active"]; len(a) != 3 || a[0] != "False" || a[1] != "True" || a[2] != "" {
		t.Errorf("od_alarm_active %q, want False, then True once the culture passes 2.0, then cleared", a)
	}
	d := got["doubling_time_h"]
	if len(d) < 100 || d[len(d)-1] != "" {
		t.Errorf("%d doubling times, last %q", len(d), d[len(d)-1])
	}
	if got["interval"][0] != "600.0" || got["$state"][1] != "ready" {
		t.Errorf("interval %q, $state %q", got["interval"], got["$state"])
	}
}
