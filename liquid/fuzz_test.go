package liquid

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzFileStore reads any store file, for any experiment name. Nothing
// panics; an experiment that loads has a valid UTF-8 name and numbers
// within their bounds; what loads, saved again, loads the same; and saving
// one experiment leaves the others as they were.
func FuzzFileStore(f *testing.F) {
	entry := func(exp, field, v string) string {
		return `{"` + exp + `":{"current_volume_ml":14,"efflux_tube_volume_ml":14,"alt_media_fraction":0,` +
			`"cumulative_media_added_ml":0,"cumulative_alt_media_added_ml":0,"cumulative_waste_removed_ml":0,` +
			`"` + field + `":` + v + `}}`
	}
	for _, field := range []string{"current_volume_ml", "alt_media_fraction", "cumulative_media_added_ml", "events_applied"} {
		for _, v := range []string{"1e-300", "1e-12", "1e308", "1e-9", "-1", "0", "5e-324", "1e999", "NaN", "inf", `"lost"`, "null", "[]",
			`[{"stream":"s","through":3,"above":[5,4,5,1]}]`, `[{"stream":"s","through":18446744073709551615,"above":[18446744073709551615]}]`,
			`[{"stream":"s","through":1},{"stream":"s","through":9}]`, `[{"stream":"","through":0,"above":[0]}]`} {
			f.Add("exp1", []byte(entry("exp1", field, v)))
		}
	}
	for _, exp := range []string{"exp1", "", "lost", "init", " ready ", "\xff\xfe", "$experiment", strings.Repeat("x", 1<<20)} {
		f.Add(exp, []byte(entry("exp1", "current_volume_ml", "20")))
		f.Add(exp, []byte(entry(exp, "current_volume_ml", "20")))
	}
	f.Add("exp1", []byte(""))
	f.Add("exp1", []byte("{}"))
	f.Add("exp1", []byte(`{"exp1":null}`))
	f.Add("exp1", []byte(`{"exp1":{},"exp1":{"current_volume_ml":-5}}`))
	f.Fuzz(func(t *testing.T, exp string, data []byte) {
		path := filepath.Join(t.TempDir(), "liquid.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s := &FileStore{Path: path}
		r, ok, err := s.LoadRecord(exp)
		if err != nil {
			return
		}
		if !utf8.ValidString(exp) {
			t.Fatalf("experiment name %q, not valid UTF-8, loaded", exp)
		}
		// What loads is within the bounds a store can check without the
		// vial: at least 0, the fraction at most 1 (an infinite capacity).
		if err := r.State.ValidateAll(math.Inf(1)); err != nil {
			t.Fatalf("%.200q: loaded %+v: %v", data, r.State, err)
		}
		other, otherOK, err := s.LoadRecord(exp + "-other")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveRecord(exp, r); err != nil {
			return // a file the store cannot rewrite (a name the file system refuses)
		}
		back, backOK, err := s.LoadRecord(exp)
		if err != nil || !backOK || !reflect.DeepEqual(back, r) {
			t.Fatalf("%.200q: %+v (found %v) saved and loaded as %+v (%v)", data, r, ok, back, err)
		}
		again, againOK, err := s.LoadRecord(exp + "-other")
		if err != nil || againOK != otherOK || !reflect.DeepEqual(again, other) {
			t.Fatalf("%.200q: saving %q changed another experiment from %+v to %+v (%v)", data, exp, other, again, err)
		}
	})
}
