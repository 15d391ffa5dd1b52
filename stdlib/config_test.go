package stdlib

import (
	"regexp"
	"strings"
	"testing"

	"github.com/piolab/pio/config"
)

// TestOwnedConfigSectionsAreRead checks that every key of the sections the
// library owns (config.OwnedSections: "stdlib (<file>) ...") is read by
// that file with config_get, naming the section.
func TestOwnedConfigSectionsAreRead(t *testing.T) {
	file := regexp.MustCompile(`^stdlib \((\w+)\.star\)`)
	n := 0
	for sec, owner := range config.OwnedSections {
		m := file.FindStringSubmatch(owner)
		if m == nil {
			continue
		}
		_, src, ok := Lookup("dosing", m[1])
		if !ok {
			t.Errorf("[%s]: no dosing/%s.star", sec, m[1])
			continue
		}
		text := string(src)
		if !strings.Contains(text, `"`+sec+`"`) {
			t.Errorf("%s.star never names [%s]", m[1], sec)
		}
		keys := config.New().Section(sec).Keys()
		if len(keys) == 0 {
			t.Errorf("[%s] has no defaults", sec)
		}
		for _, k := range keys {
			n++
			if !regexp.MustCompile(`config_get\([^)]*"` + regexp.QuoteMeta(k) + `"`).MatchString(text) {
				t.Errorf("%s.star does not read [%s] %s with config_get", m[1], sec, k)
			}
		}
	}
	if n == 0 {
		t.Fatal("no owned keys")
	}
}
