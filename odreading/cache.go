package odreading

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// Cache is upstream's local persistent storage as od_reading uses it: a
// value per cache name and experiment. od_reading reads and writes
// ir_led_reference_normalization (the experiment's first REF reading, a
// number) and reads od_blank (the experiment's blank per channel, a JSON
// object such as {"2": 0.012}).
type Cache interface {
	Get(cache, experiment string) (value string, ok bool, err error)
	Set(cache, experiment, value string) error
}

// Cache names.
const (
	RefCache   = "ir_led_reference_normalization"
	BlankCache = "od_blank"
)

// MemCache is a Cache in memory, forgotten when the process ends.
type MemCache struct {
	mu sync.Mutex
	m  map[[2]string]string
}

// NewMemCache returns an empty cache.
func NewMemCache() *MemCache { return &MemCache{m: map[[2]string]string{}} }

// Get implements Cache.
func (c *MemCache) Get(cache, experiment string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[[2]string{cache, experiment}]
	return v, ok, nil
}

// Set implements Cache.
func (c *MemCache) Set(cache, experiment, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[[2]string{cache, experiment}] = value
	return nil
}

// FileCache keeps each cache as one JSON file, <dir>/<cache>.json, an
// object from experiment to value, replaced atomically on each Set.
type FileCache struct {
	dir string
	mu  sync.Mutex
}

// NewFileCache returns a cache in dir, which is created when first written.
func NewFileCache(dir string) *FileCache { return &FileCache{dir: dir} }

var cacheName = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

func (c *FileCache) path(cache string) (string, error) {
	if !cacheName.MatchString(cache) {
		return "", fmt.Errorf("od_reading cache %q: want lowercase words joined by _", cache)
	}
	return filepath.Join(c.dir, cache+".json"), nil
}

func (c *FileCache) load(cache string) (map[string]string, string, error) {
	p, err := c.path(cache)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, p, nil
	}
	if err != nil {
		return nil, p, fmt.Errorf("od_reading cache: %w", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, p, fmt.Errorf("od_reading cache %s: want a JSON object of experiment to value: %w", p, err)
	}
	return m, p, nil
}

// Get implements Cache.
func (c *FileCache) Get(cache, experiment string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, _, err := c.load(cache)
	if err != nil {
		return "", false, err
	}
	v, ok := m[experiment]
	return v, ok, nil
}

// Set implements Cache.
func (c *FileCache) Set(cache, experiment, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, p, err := c.load(cache)
	if err != nil {
		return err
	}
	m[experiment] = value
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("od_reading cache %s: %w", p, err)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("od_reading cache: %w", err)
	}
	tmp, err := os.CreateTemp(c.dir, cache+".*.tmp")
	if err != nil {
		return fmt.Errorf("od_reading cache: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("od_reading cache %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("od_reading cache %s: %w", p, err)
	}
	return nil
}

// parseBlank reads an od_blank value: {"<channel>": <od>, ...}.
func parseBlank(v string) (map[string]float64, error) {
	m := map[string]float64{}
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return nil, fmt.Errorf("od_blank %.100q: want a JSON object of channel to OD, such as {\"2\": 0.012}", v)
	}
	return m, nil
}
