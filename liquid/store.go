package liquid

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"unicode/utf8"
)

// Store persists one State per experiment.
type Store interface {
	Load(experiment string) (State, bool, error)
	Save(experiment string, s State) error
}

// Record is what the monitor keeps per experiment: the model, and which
// identified events it has applied (saved together, so that an event is
// never counted as applied without its volume, or the other way round).
type Record struct {
	State State
	Seen  Seen
}

// RecordStore is a Store that also keeps the events applied. MemStore and
// FileStore are both.
type RecordStore interface {
	Store
	LoadRecord(experiment string) (Record, bool, error)
	SaveRecord(experiment string, r Record) error
}

// MemStore keeps states in memory (simulation, tests).
type MemStore struct {
	mu sync.Mutex
	m  map[string]Record
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string]Record{}} }

// Load implements Store.
func (s *MemStore) Load(exp string) (State, bool, error) {
	r, ok, err := s.LoadRecord(exp)
	return r.State, ok, err
}

// Save implements Store; the events applied are kept.
func (s *MemStore) Save(exp string, st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[exp]
	r.State = st
	s.m[exp] = r
	return nil
}

// LoadRecord implements RecordStore.
func (s *MemStore) LoadRecord(exp string) (Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[exp]
	return r, ok, nil
}

// SaveRecord implements RecordStore.
func (s *MemStore) SaveRecord(exp string, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[exp] = r
	return nil
}

// FileStore keeps states in one JSON file, replaced atomically on each save,
// so a crash leaves either the old or the new file, never half of one. Each
// experiment's entry also lists the identified events applied to it
// ("events_applied", see Seen). Experiment names must be valid UTF-8, and a
// file that holds anything but an object of entries within their bounds is
// refused whole (see readAll), never overwritten.
type FileStore struct {
	Path string
	mu   sync.Mutex
}

type fileState struct {
	CurrentVolumeML    float64      `json:"current_volume_ml"`
	EffluxTubeVolumeML float64      `json:"efflux_tube_volume_ml"`
	AltMediaFraction   float64      `json:"alt_media_fraction"`
	CumMediaML         float64      `json:"cumulative_media_added_ml"`
	CumAltMediaML      float64      `json:"cumulative_alt_media_added_ml"`
	CumWasteML         float64      `json:"cumulative_waste_removed_ml"`
	EventsApplied      []fileWindow `json:"events_applied,omitempty"`
}

// fileWindow is a Window: {"stream": "…", "through": 41, "above": [43]}.
type fileWindow struct {
	Stream  string   `json:"stream"`
	Through uint64   `json:"through"`
	Above   []uint64 `json:"above,omitempty"`
}

func (f fileState) record() Record {
	ws := make([]Window, len(f.EventsApplied))
	for i, w := range f.EventsApplied {
		ws[i] = Window(w)
	}
	return Record{
		State: State{CurrentVolumeML: f.CurrentVolumeML, EffluxTubeVolumeML: f.EffluxTubeVolumeML, AltMediaFraction: f.AltMediaFraction,
			CumMediaML: f.CumMediaML, CumAltMediaML: f.CumAltMediaML, CumWasteML: f.CumWasteML},
		Seen: SeenFrom(ws),
	}
}

func fileRecord(r Record) fileState {
	s := r.State
	f := fileState{CurrentVolumeML: s.CurrentVolumeML, EffluxTubeVolumeML: s.EffluxTubeVolumeML, AltMediaFraction: s.AltMediaFraction,
		CumMediaML: s.CumMediaML, CumAltMediaML: s.CumAltMediaML, CumWasteML: s.CumWasteML}
	for _, w := range r.Seen.windows {
		f.EventsApplied = append(f.EventsApplied, fileWindow(w))
	}
	return f
}

// readAll reads the whole file. A file that is not an object of experiment
// entries, or that has an entry with a value out of its bounds (see
// checkStored), is refused whole, with an error naming the file, the
// experiment and the key: it was not written by a store (which saves only
// states the monitor checked), and overwriting it on the next save would
// lose what it holds.
func (s *FileStore) readAll() (map[string]fileState, error) {
	b, err := os.ReadFile(s.Path)
	if os.IsNotExist(err) {
		return map[string]fileState{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("liquid store: %w", err)
	}
	var m map[string]*fileState
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("liquid store %s: %w", s.Path, err)
	}
	if m == nil {
		return nil, fmt.Errorf("liquid store %s: the file holds null: want an object of experiments, {\"<experiment>\": {\"current_volume_ml\": ...}, ...}", s.Path)
	}
	out := make(map[string]fileState, len(m))
	for _, exp := range slices.Sorted(maps.Keys(m)) {
		f := m[exp]
		if f == nil {
			return nil, fmt.Errorf("liquid store %s: experiment %q is null: want an object, {\"current_volume_ml\": ...}", s.Path, exp)
		}
		if err := checkStored(*f); err != nil {
			return nil, fmt.Errorf("liquid store %s: experiment %q: %w", s.Path, exp, err)
		}
		out[exp] = *f
	}
	return out, nil
}

// checkStored applies the bounds a stored state can be checked against
// without knowing the vial: volumes and cumulative counters at least 0, the
// alt-media fraction from 0 to 1. (The monitor checks volumes against the
// vial's capacity when it applies an event.)
func checkStored(f fileState) error {
	for _, v := range []struct {
		name string
		v    float64
	}{
		{CurrentVolume, f.CurrentVolumeML}, {EffluxTubeVolume, f.EffluxTubeVolumeML}, {AltMediaFraction, f.AltMediaFraction},
		{CumulativeMedia, f.CumMediaML}, {CumulativeAltMedia, f.CumAltMediaML}, {CumulativeWaste, f.CumWasteML},
	} {
		switch {
		case math.IsNaN(v.v) || math.IsInf(v.v, 0):
			return fmt.Errorf("%s=%v is not a finite number", v.name, v.v)
		case v.v < 0:
			return fmt.Errorf("%s=%s is below 0: volumes, counters and %s are at least 0", v.name, num(v.v), AltMediaFraction)
		case v.name == AltMediaFraction && v.v > 1:
			return fmt.Errorf("%s=%s is above 1: a fraction is from 0 to 1", v.name, num(v.v))
		}
	}
	return nil
}

// checkExperiment refuses an experiment name the file cannot hold: JSON keys
// are UTF-8, and encoding/json would save invalid UTF-8 under another name
// (each bad byte turned into U+FFFD). MQTT topics are UTF-8 too.
func checkExperiment(exp string) error {
	if !utf8.ValidString(exp) {
		return fmt.Errorf("liquid store: experiment name %q is not valid UTF-8 (MQTT topics and the store's JSON keys are UTF-8)", exp)
	}
	return nil
}

// Load implements Store.
func (s *FileStore) Load(exp string) (State, bool, error) {
	r, ok, err := s.LoadRecord(exp)
	return r.State, ok, err
}

// Save implements Store; the events applied are kept.
func (s *FileStore) Save(exp string, st State) error {
	return s.update(exp, func(r *Record) { r.State = st })
}

// LoadRecord implements RecordStore.
func (s *FileStore) LoadRecord(exp string) (Record, bool, error) {
	if err := checkExperiment(exp); err != nil {
		return Record{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.readAll()
	if err != nil {
		return Record{}, false, err
	}
	f, ok := m[exp]
	return f.record(), ok, nil
}

// SaveRecord implements RecordStore.
func (s *FileStore) SaveRecord(exp string, r Record) error {
	return s.update(exp, func(old *Record) { *old = r })
}

func (s *FileStore) update(exp string, change func(*Record)) error {
	if err := checkExperiment(exp); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.readAll()
	if err != nil {
		return err
	}
	r := m[exp].record()
	change(&r)
	m[exp] = fileRecord(r)
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return fmt.Errorf("liquid store: %w", err)
	}
	if err := replaceFile(s.Path, b); err != nil {
		return fmt.Errorf("liquid store: %w", err)
	}
	return nil
}

// replaceFile writes b to path through a temporary file, synced before it
// is renamed over path: after a power cut the store holds the old or the new
// content, and a model the monitor confirmed is on disk.
func replaceFile(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
