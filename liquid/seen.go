package liquid

import "slices"

// Seen remembers which identified dosing events an experiment's model has
// applied, so that an event delivered twice (published again after a broker
// restart, or replayed from a crashed process's journal) is applied once.
//
// An event id names a stream (one journal of one process) and a number that
// counts that stream's events on this experiment from 1. A stream's events
// arrive mostly in order, so each stream is remembered as a window: every
// number up to Through, plus the few above it that arrived before a gap was
// filled. The memory is bounded: MaxStreams streams per experiment (the least
// recently used is forgotten) and MaxAbove numbers above a gap (the oldest gap
// is then given up: an event from it that comes later counts as a duplicate).
// Both limits are far above what a replay needs, which resends only what a
// process had not seen confirmed.
type Seen struct {
	windows []Window // least recently used first
}

// Window is what one stream has applied.
type Window struct {
	Stream  string
	Through uint64   // every number from 1 to Through is applied
	Above   []uint64 // applied numbers above Through+1, ascending
}

// Limits of Seen.
const (
	MaxStreams = 32
	MaxAbove   = 1024
)

// SeenFrom rebuilds a Seen from its windows, least recently used first.
func SeenFrom(ws []Window) Seen {
	if len(ws) > MaxStreams {
		ws = ws[len(ws)-MaxStreams:]
	}
	return Seen{windows: slices.Clone(ws)}
}

// Windows returns the windows, least recently used first.
func (s Seen) Windows() []Window { return slices.Clone(s.windows) }

func (s Seen) find(stream string) int {
	for i := len(s.windows) - 1; i >= 0; i-- {
		if s.windows[i].Stream == stream {
			return i
		}
	}
	return -1
}

// Has reports whether event n of stream was applied.
func (s Seen) Has(stream string, n uint64) bool {
	i := s.find(stream)
	if i < 0 {
		return false
	}
	w := s.windows[i]
	if n <= w.Through {
		return true
	}
	_, found := slices.BinarySearch(w.Above, n)
	return found
}

// With returns s with event n of stream applied; s itself is unchanged.
// gaveUp counts the numbers of a gap given up to keep within MaxAbove.
func (s Seen) With(stream string, n uint64) (next Seen, gaveUp uint64) {
	ws := make([]Window, 0, len(s.windows)+1)
	var w Window
	for _, x := range s.windows {
		if x.Stream == stream {
			w = x
		} else {
			ws = append(ws, x)
		}
	}
	w.Stream = stream
	if n > w.Through {
		if i, found := slices.BinarySearch(w.Above, n); !found {
			w.Above = slices.Insert(slices.Clone(w.Above), i, n)
		}
	}
	for len(w.Above) > MaxAbove {
		gaveUp += w.Above[0] - w.Through - 1
		w.Through = w.Above[0]
		w.Above = w.Above[1:]
	}
	for len(w.Above) > 0 && w.Above[0] == w.Through+1 {
		w.Through++
		w.Above = w.Above[1:]
	}
	if len(w.Above) == 0 {
		w.Above = nil
	}
	ws = append(ws, w)
	if len(ws) > MaxStreams {
		ws = ws[len(ws)-MaxStreams:]
	}
	return Seen{windows: ws}, gaveUp
}
