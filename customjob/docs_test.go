package customjob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/simulate"
)

var starlarkBlock = regexp.MustCompile("(?s)```starlark\n(.*?)```")

// TestJobsDocsExamplesRun runs every Starlark example of docs/jobs.md as a
// custom job beside a simulated unit, for three virtual hours, and checks
// that each ran as its job, published a reading and failed nowhere.
func TestJobsDocsExamplesRun(t *testing.T) {
	b, err := os.ReadFile("../docs/jobs.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := starlarkBlock.FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d examples", len(blocks))
	}
	dir := t.TempDir()
	for i, m := range blocks {
		path := filepath.Join(dir, "example.star")
		os.WriteFile(path, []byte(m[1]), 0o644)
		var rec bytes.Buffer
		s, err := simulate.Run(context.Background(), simulate.Options{Script: path, For: 3 * time.Hour, Seed: 1, Record: &rec})
		if err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, m[1])
			continue
		}
		if !strings.Contains(m[1], `job_name = "`+s.AutomationJob+`"`) {
			t.Errorf("example %d ran as %s, not as its job\n%s", i+1, s.AutomationJob, m[1])
		}
		if s.Errors != 0 {
			t.Errorf("example %d: %v\n%s", i+1, s.ErrorMessages, m[1])
		}
		published := 0
		for _, line := range strings.Split(rec.String(), "\n") {
			var r simulate.Record
			if json.Unmarshal([]byte(line), &r) != nil {
				continue
			}
			name, ok := strings.CutPrefix(r.Topic, "pioreactor/sim/sim/"+s.AutomationJob+"/")
			if ok && r.Payload != "" && !strings.Contains(m[1], `"`+name+`":`) && name != "$state" {
				published++ // a reading: not a setting of the settings dict
			}
		}
		if published == 0 {
			t.Errorf("example %d published nothing\n%s", i+1, m[1])
		}
	}
}
