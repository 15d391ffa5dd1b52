package stdlib

import (
	"strings"
	"testing"

	"github.com/piolab/pio/script"
)

// lib/ holds loadable modules, not automations: no family lists or finds
// them, and a library script's path marks it as pio's own.
func TestLibFolderIsNoFamily(t *testing.T) {
	if got := Names("lib"); len(got) != 0 {
		t.Errorf(`Names("lib") = %q`, got)
	}
	if _, _, ok := Lookup("lib", "stats"); ok {
		t.Error(`Lookup("lib", "stats") found a script`)
	}
	for fam := range script.Families {
		for _, name := range Names(fam) {
			if p, _, _ := Lookup(fam, name); !strings.HasPrefix(p, Prefix+fam+"/") {
				t.Errorf("Lookup(%s, %s) = %s, want a path under %s%s/", fam, name, p, Prefix, fam)
			}
		}
	}
}

// A library script loads pio's modules (script/load_test.go tests that it
// loads nothing else).
func TestLibraryScriptLoadsFromTheLibrary(t *testing.T) {
	src := []byte("load(\"units.star\", \"minutes\")\n\nif minutes(1) != 60.0:\n    fail(\"not pio's units.star\")\n")
	if _, err := script.LoadModule(Prefix+"dosing/x.star", src, "u", "e"); err != nil {
		t.Error(err)
	}
}
