package liquid

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The numbers below are upstream's test_bioreactor.py.

func TestUpdatedVolumeSequence(t *testing.T) {
	steps := []struct {
		event string
		v     float64
		want  float64
	}{
		{"add_media", 6, 6}, {"remove_waste", 2, 6}, {"add_alt_media", 6, 12}, {"add_alt_media", 3, 15},
		{"remove_waste", 3, 14}, {"add_alt_media", 2, 16}, {"remove_waste", 1, 15}, {"remove_waste", 10, 14},
	}
	V, E := 0.0, 14.0
	for i, s := range steps {
		got, err := UpdatedVolume(s.event, s.v, V, E)
		if err != nil || got != s.want {
			t.Fatalf("step %d (%s %v): V = %v, %v; want %v", i, s.event, s.v, got, err, s.want)
		}
		V = got
	}
}

func TestUpdatedVolume(t *testing.T) {
	tests := []struct {
		name       string
		event      string
		v, V, E    float64
		want       float64
		wantErrMsg bool
	}{
		{"waste stops at efflux", "remove_waste", 10, 15, 14, 14, false},
		{"waste below efflux does nothing", "remove_waste", 10, 3, 3, 3, false},
		{"add media", "add_media", 6, 0, 14, 6, false},
		{"custom add", "add_salty_media", 1, 10, 14, 11, false},
		{"negative add floors at 0", "add_media", -3, 0, 14, 0, false},
		{"unknown event", "drain", 1, 10, 14, 0, true},
	}
	for _, tt := range tests {
		got, err := UpdatedVolume(tt.event, tt.v, tt.V, tt.E)
		if (err != nil) != tt.wantErrMsg || (err == nil && got != tt.want) {
			t.Errorf("%s: got %v, %v; want %v (error: %v)", tt.name, got, err, tt.want, tt.wantErrMsg)
		}
	}
}

func TestNegativeAddSequence(t *testing.T) {
	V := 0.0
	for i, want := range []float64{6, 3, 0, 0} {
		v := -3.0
		if i == 0 {
			v = 6
		}
		V, _ = UpdatedVolume("add_media", v, V, 14)
		if V != want {
			t.Fatalf("step %d: V = %v, want %v", i, V, want)
		}
	}
}

func TestAltMediaFractionSequence(t *testing.T) {
	s := State{EffluxTubeVolumeML: 14}
	steps := []struct {
		event string
		v     float64
		f     float64
	}{{"add_media", 6, 0}, {"remove_waste", 2, 0}, {"add_alt_media", 6, 0.5}, {"add_alt_media", 3, 0.6}}
	for i, st := range steps {
		n, err := Apply(s, st.event, st.v, 40)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(n.AltMediaFraction-st.f) > 1e-12 {
			t.Fatalf("step %d: f = %v, want %v", i, n.AltMediaFraction, st.f)
		}
		s = n
	}
}

func TestNegativeAltDoseMatchesSmallerDose(t *testing.T) {
	a, _ := Apply(State{CurrentVolumeML: 12, EffluxTubeVolumeML: 14}, "add_alt_media", 6, 40)
	a, _ = Apply(a, "add_alt_media", -3, 40)
	b, _ := Apply(State{CurrentVolumeML: 12, EffluxTubeVolumeML: 14}, "add_alt_media", 3, 40)
	if math.Abs(a.AltMediaFraction-b.AltMediaFraction) > 1e-12 || a.CurrentVolumeML != b.CurrentVolumeML {
		t.Fatalf("+6-3 gives %+v, +3 gives %+v", a, b)
	}
}

func TestChunkedEventsMatchOneEvent(t *testing.T) {
	s := State{CurrentVolumeML: 10, EffluxTubeVolumeML: 14, AltMediaFraction: 0.3}
	a, _ := Apply(s, "add_media", 0.5, 40)
	a, _ = Apply(a, "add_media", 0.125, 40)
	b, _ := Apply(s, "add_media", 0.625, 40)
	if math.Abs(a.AltMediaFraction-b.AltMediaFraction) > 1e-12 || math.Abs(a.CurrentVolumeML-b.CurrentVolumeML) > 1e-12 {
		t.Fatalf("chunked %+v != single %+v", a, b)
	}
}

func TestFractionRules(t *testing.T) {
	if f := UpdatedAltMediaFraction("add_salty_media", 1, 10, 0.25); f != 0.25 {
		t.Errorf("custom event changed f to %v", f)
	}
	if f := UpdatedAltMediaFraction("add_media", 1, 1, 9.47e-37); f != 0 {
		t.Errorf("extreme dilution: f = %v, want exactly 0", f)
	}
	if f := UpdatedAltMediaFraction("add_media", -1, 1, 0.5); f != 0.5 {
		t.Errorf("zero denominator changed f to %v", f)
	}
	if _, err := Apply(State{AltMediaFraction: 1.25}, "add_salty_media", 1, 40); err == nil {
		t.Error("an invalid fraction passed validation on an unknown event")
	}
}

func TestCumulatives(t *testing.T) {
	s := State{CurrentVolumeML: 14, EffluxTubeVolumeML: 14, CumMediaML: 2, CumAltMediaML: 2, CumWasteML: 1}
	n, _ := Apply(s, "add_media", 1.25, 40)
	if n.CumMediaML != 3.25 || n.CumAltMediaML != 2 {
		t.Errorf("cumulatives %+v", n)
	}
	n, _ = Apply(s, "remove_waste", -2, 40)
	if n.CumWasteML != 0 {
		t.Errorf("cumulative waste went to %v, want floor 0", n.CumWasteML)
	}
}

func TestCapacityRefusesTheWholeEvent(t *testing.T) {
	s := State{CurrentVolumeML: 19, EffluxTubeVolumeML: 14, CumMediaML: 1}
	n, err := Apply(s, "add_media", 2, 20)
	if err == nil {
		t.Fatal("19+2 mL in a 20 mL vial was accepted")
	}
	if n != s {
		t.Fatalf("state changed on a refused event: %+v", n)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		v    float64
		ok   bool
	}{
		{AltMediaFraction, 1.2, false}, {AltMediaFraction, -0.1, false}, {CurrentVolume, -1, false},
		{CurrentVolume, 20.1, false}, {EffluxTubeVolume, 18.1, true}, {EffluxTubeVolume, 20, true},
		{EffluxTubeVolume, 20.1, false}, {CumulativeMedia, 80, true}, {CurrentVolume, math.NaN(), false},
	}
	for _, tt := range tests {
		if err := Validate(tt.name, tt.v, 20); (err == nil) != tt.ok {
			t.Errorf("Validate(%s, %v) = %v, want ok=%v", tt.name, tt.v, err, tt.ok)
		}
	}
}

func TestFileStoreRoundTrip(t *testing.T) {
	s := &FileStore{Path: t.TempDir() + "/b.json"}
	if _, ok, err := s.Load("e"); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	want := State{CurrentVolumeML: 12.5, EffluxTubeVolumeML: 14, AltMediaFraction: 0.25, CumWasteML: 3}
	if err := s.Save("e", want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := (&FileStore{Path: s.Path}).Load("e")
	if err != nil || !ok || got != want {
		t.Fatalf("got %+v %v %v, want %+v", got, ok, err, want)
	}
}

// A store file pio did not write is refused whole, with an error naming the
// file, the experiment and the key; nothing in it is overwritten.
func TestFileStoreRefusesBadFiles(t *testing.T) {
	good := `"current_volume_ml":14,"efflux_tube_volume_ml":14,"alt_media_fraction":0,"cumulative_media_added_ml":0,"cumulative_alt_media_added_ml":0,"cumulative_waste_removed_ml":0`
	for _, tt := range []struct{ file, want string }{
		{"null", `the file holds null: want an object of experiments`},
		{" null\n", `the file holds null: want an object of experiments`},
		{`{"exp1":null}`, `experiment "exp1" is null: want an object`},
		{`{"exp1":{` + good + `,"current_volume_ml":-1}}`, `experiment "exp1": current_volume_ml=-1.0 is below 0`},
		{`{"other":{` + good + `,"cumulative_waste_removed_ml":-1e-9}}`, `experiment "other": cumulative_waste_removed_ml=-1e-09 is below 0`},
		{`{"exp1":{` + good + `,"alt_media_fraction":1.5}}`, `experiment "exp1": alt_media_fraction=1.5 is above 1`},
	} {
		path := filepath.Join(t.TempDir(), "bioreactor.json")
		if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
			t.Fatal(err)
		}
		s := &FileStore{Path: path}
		want := "liquid store " + path + ": " + tt.want
		if _, _, err := s.LoadRecord("exp1"); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("LoadRecord of %s: %v, want %s...", tt.file, err, want)
		}
		if err := s.Save("exp1", State{CurrentVolumeML: 14}); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Save over %s: %v, want %s...", tt.file, err, want)
		}
		if b, _ := os.ReadFile(path); string(b) != tt.file {
			t.Errorf("Save over %s rewrote it as %s", tt.file, b)
		}
	}
}

// An experiment name that is not valid UTF-8 is refused: the file's JSON
// keys would turn it into another name.
func TestFileStoreRefusesInvalidUTF8Names(t *testing.T) {
	s := &FileStore{Path: filepath.Join(t.TempDir(), "bioreactor.json")}
	want := `liquid store: experiment name "\xff\xfe" is not valid UTF-8`
	if err := s.Save("\xff\xfe", State{CurrentVolumeML: 14}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Save: %v, want %s...", err, want)
	}
	if _, _, err := s.LoadRecord("\xff\xfe"); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("LoadRecord: %v, want %s...", err, want)
	}
	if err := s.Save("été", State{CurrentVolumeML: 14}); err != nil {
		t.Fatal(err)
	}
	if st, ok, err := s.Load("été"); err != nil || !ok || st.CurrentVolumeML != 14 {
		t.Errorf("Load(été) = %+v, %v, %v", st, ok, err)
	}
}
