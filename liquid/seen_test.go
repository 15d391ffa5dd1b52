package liquid

import (
	"fmt"
	"slices"
	"testing"
)

func TestSeenInOrderAndGaps(t *testing.T) {
	var s Seen
	for _, n := range []uint64{1, 2, 4, 5, 3, 7} {
		if s.Has("a", n) {
			t.Fatalf("%d seen before it was added", n)
		}
		s, _ = s.With("a", n)
	}
	for n := uint64(1); n <= 8; n++ {
		if got, want := s.Has("a", n), n != 6 && n != 8; got != want {
			t.Errorf("Has(a, %d) = %v, want %v", n, got, want)
		}
	}
	if s.Has("b", 1) {
		t.Error("another stream's 1 counted as seen")
	}
	w := s.Windows()
	if len(w) != 1 || w[0].Through != 5 || !slices.Equal(w[0].Above, []uint64{7}) {
		t.Errorf("windows %+v, want through 5 and 7 above", w)
	}
}

func TestSeenWithLeavesTheOriginalAlone(t *testing.T) {
	s, _ := Seen{}.With("a", 2)
	next, _ := s.With("a", 1)
	if s.Has("a", 1) || !next.Has("a", 1) || !next.Has("a", 2) {
		t.Errorf("original %+v, next %+v", s.Windows(), next.Windows())
	}
}

func TestSeenIsBounded(t *testing.T) {
	var s Seen
	for i := range MaxStreams + 5 {
		s, _ = s.With(fmt.Sprint("stream", i), 1)
	}
	if n := len(s.Windows()); n != MaxStreams {
		t.Errorf("%d streams kept, want %d", n, MaxStreams)
	}
	if s.Has("stream0", 1) || !s.Has(fmt.Sprint("stream", MaxStreams+4), 1) {
		t.Error("the least recently used stream was not the one forgotten")
	}

	// A gap that never fills is given up once MaxAbove numbers wait above it.
	var g Seen
	var gaveUp uint64
	for n := uint64(3); n <= MaxAbove+3; n++ {
		var u uint64
		g, u = g.With("a", n)
		gaveUp += u
	}
	w := g.Windows()[0]
	if gaveUp != 2 || w.Through != MaxAbove+3 || len(w.Above) != 0 {
		t.Errorf("gave up %d, window through %d with %d above; want 2, %d, 0", gaveUp, w.Through, len(w.Above), MaxAbove+3)
	}
}

func TestFileStoreKeepsEventsApplied(t *testing.T) {
	path := t.TempDir() + "/b.json"
	s := &FileStore{Path: path}
	seen, _ := Seen{}.With("ab12", 1)
	seen, _ = seen.With("ab12", 3)
	r := Record{State: State{CurrentVolumeML: 15, EffluxTubeVolumeML: 14, CumMediaML: 1}, Seen: seen}
	if err := s.SaveRecord("e", r); err != nil {
		t.Fatal(err)
	}
	// Saving the state alone keeps what was applied.
	if err := s.Save("e", State{CurrentVolumeML: 16, EffluxTubeVolumeML: 14}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := (&FileStore{Path: path}).LoadRecord("e")
	if err != nil || !ok {
		t.Fatalf("load: %v %v", ok, err)
	}
	if got.State.CurrentVolumeML != 16 || !got.Seen.Has("ab12", 1) || got.Seen.Has("ab12", 2) || !got.Seen.Has("ab12", 3) {
		t.Errorf("loaded %+v", got)
	}
}
