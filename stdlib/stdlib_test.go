package stdlib

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/piolab/pio/script"
)

func TestEveryLibraryScriptLoads(t *testing.T) {
	n := 0
	for fam := range script.Families {
		for _, name := range Names(fam) {
			p, src, ok := Lookup(fam, name)
			if !ok {
				t.Errorf("Lookup(%s, %s) failed", fam, name)
				continue
			}
			n++
			m, err := script.LoadModule(p, src, "u", "e")
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if m.Family.Type != fam {
				t.Errorf("%s: family %s, in folder %s", p, m.Family.Type, fam)
			}
			if fam == "dosing" {
				s, err := script.Load(p, src, "u", "e")
				if err != nil {
					t.Errorf("%s: %v", p, err)
				} else if s.Name() != name {
					t.Errorf("%s: automation_name %s", p, s.Name())
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("empty library")
	}
}

func TestDosingLibrary(t *testing.T) {
	want := "chemostat fed_batch pid_morbidostat silent turbidostat"
	if got := strings.Join(Names("dosing"), " "); got != want {
		t.Errorf("Names(dosing) = %s, want %s", got, want)
	}
	for _, bad := range [][2]string{{"dosing", "nothing"}, {"dosing", "../stdlib"}, {"", "silent"}, {"dosing", "silent.star"}} {
		if _, _, ok := Lookup(bad[0], bad[1]); ok {
			t.Errorf("Lookup(%q, %q) ok", bad[0], bad[1])
		}
	}
	// The root-level view unit.LoadScript reads until it uses Lookup.
	if _, err := fs.ReadFile(FS, "turbidostat.star"); err != nil {
		t.Error(err)
	}
}
