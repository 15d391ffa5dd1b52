package stdlib

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var starlarkBlock = regexp.MustCompile("(?s)```starlark\n(.*?)```")

// TestAutomationsDocsExamplesRun runs every Starlark example of
// docs/automations.md for two virtual hours, with every reading published
// live every 5 s, and checks that each ran without an error.
func TestAutomationsDocsExamplesRun(t *testing.T) {
	b, err := os.ReadFile("../docs/automations.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := starlarkBlock.FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 6 {
		t.Fatalf("found %d examples", len(blocks))
	}
	for i, m := range blocks {
		src := m[1]
		u := newUnit(t)
		for _, job := range []string{"od_reading", "growth_rate_calculating", "temperature_automation"} {
			u.publish(job+"/$state", "ready", true)
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		u.clk.Go("readings", func() {
			for {
				for _, r := range [][2]string{
					{"od_reading/ods", u.ods(0.7)}, {"od_reading/od_fused", u.fused(0.7)},
					{"growth_rate_calculating/od_filtered", u.nOD(0.6)}, {"growth_rate_calculating/growth_rate", u.gr(0.3)},
					{"temperature_automation/temperature", `{"temperature": 30.0, "timestamp": "` + tsOf(u) + `"}`},
				} {
					_ = u.ctl.Publish("pioreactor/u1/e1/"+r[0], []byte(r[1]), 1, false)
				}
				if u.clk.SleepUntil(ctx, u.clk.Now().Add(5*time.Second)) != nil {
					return
				}
			}
		})
		overrides := map[string]string{}
		if strings.Contains(src, `"feed_ml"`) {
			overrides["feed_ml"] = "0.5"
		}
		if err := u.tryStart("example", []byte(src), overrides); err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, src)
			continue
		}
		u.advance(2 * time.Hour)
		if u.a.Errors != 0 {
			t.Errorf("example %d: %d errors: %q\n%s", i+1, u.a.Errors, u.logs, src)
		}
		ran := false
		for _, l := range u.logs {
			ran = ran || strings.HasPrefix(l, "INFO: ")
		}
		if !ran {
			t.Errorf("example %d never ran: %q\n%s", i+1, u.logs, src)
		}
	}
}
