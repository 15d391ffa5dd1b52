package liquid

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Store persists one State per experiment.
type Store interface {
	Load(experiment string) (State, bool, error)
	Save(experiment string, s State) error
}

// MemStore keeps states in memory (simulation, tests).
type MemStore struct {
	mu sync.Mutex
	m  map[string]State
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string]State{}} }

// Load implements Store.
func (s *MemStore) Load(exp string) (State, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[exp]
	return st, ok, nil
}

// Save implements Store.
func (s *MemStore) Save(exp string, st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[exp] = st
	return nil
}

// FileStore keeps states in one JSON file, replaced atomically on each save,
// so a crash leaves either the old or the new file, never half of one.
type FileStore struct {
	Path string
	mu   sync.Mutex
}

type fileState struct {
	CurrentVolumeML    float64 `json:"current_volume_ml"`
	EffluxTubeVolumeML float64 `json:"efflux_tube_volume_ml"`
	AltMediaFraction   float64 `json:"alt_media_fraction"`
	CumMediaML         float64 `json:"cumulative_media_added_ml"`
	CumAltMediaML      float64 `json:"cumulative_alt_media_added_ml"`
	CumWasteML         float64 `json:"cumulative_waste_removed_ml"`
}

func (s *FileStore) readAll() (map[string]fileState, error) {
	b, err := os.ReadFile(s.Path)
	if os.IsNotExist(err) {
		return map[string]fileState{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("liquid store: %w", err)
	}
	m := map[string]fileState{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("liquid store: %s: %w", s.Path, err)
	}
	return m, nil
}

// Load implements Store.
func (s *FileStore) Load(exp string) (State, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.readAll()
	if err != nil {
		return State{}, false, err
	}
	f, ok := m[exp]
	return State(f), ok, nil
}

// Save implements Store.
func (s *FileStore) Save(exp string, st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.readAll()
	if err != nil {
		return err
	}
	m[exp] = fileState(st)
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return fmt.Errorf("liquid store: %w", err)
	}
	tmp := s.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("liquid store: %w", err)
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		return fmt.Errorf("liquid store: %w", err)
	}
	return nil
}
