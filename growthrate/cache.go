package growthrate

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// CacheFile is the name of the normalisation cache under a unit's home:
// upstream's od_normalization_mean cache, as JSON.
const CacheFile = "od_normalization_mean.json"

// Cache keeps the normalisation factors (channel → factor) per experiment,
// as upstream's od_normalization_mean cache, so that a restarted job scales
// readings as before.
type Cache interface {
	// Load returns the experiment's factors; ok is false when there are none.
	Load(experiment string) (factors map[string]float64, ok bool, err error)
	Save(experiment string, factors map[string]float64) error
	// Delete forgets the experiment's factors (clear_cache).
	Delete(experiment string) error
}

// MemCache is a Cache in memory (simulation, tests).
type MemCache struct {
	mu sync.Mutex
	m  map[string]map[string]float64
}

// Load implements Cache.
func (c *MemCache) Load(exp string) (map[string]float64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[exp]
	return maps.Clone(f), ok, nil
}

// Save implements Cache.
func (c *MemCache) Save(exp string, f map[string]float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]map[string]float64{}
	}
	c.m[exp] = maps.Clone(f)
	return nil
}

// Delete implements Cache.
func (c *MemCache) Delete(exp string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, exp)
	return nil
}

// FileCache is a Cache in one JSON file, {"<experiment>": {"2": 0.05, ...}},
// replaced atomically on each save. A file that is not such an object is
// refused, never overwritten.
type FileCache struct {
	Path string
	mu   sync.Mutex
}

// Load implements Cache.
func (c *FileCache) Load(exp string) (map[string]float64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	all, err := c.read()
	if err != nil {
		return nil, false, err
	}
	f, ok := all[exp]
	return f, ok, nil
}

// Save implements Cache.
func (c *FileCache) Save(exp string, f map[string]float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	all, err := c.read()
	if err != nil {
		return err
	}
	all[exp] = f
	return c.write(all)
}

// Delete implements Cache.
func (c *FileCache) Delete(exp string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	all, err := c.read()
	if err != nil {
		return err
	}
	if _, ok := all[exp]; !ok {
		return nil
	}
	delete(all, exp)
	return c.write(all)
}

func (c *FileCache) read() (map[string]map[string]float64, error) {
	b, err := os.ReadFile(c.Path)
	if os.IsNotExist(err) {
		return map[string]map[string]float64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("normalization cache: %w", err)
	}
	var all map[string]map[string]float64
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("normalization cache %s: %w (want {\"<experiment>\": {\"<channel>\": <factor>, ...}, ...})", c.Path, err)
	}
	if all == nil {
		return nil, fmt.Errorf("normalization cache %s: the file holds null: want {\"<experiment>\": {\"<channel>\": <factor>, ...}, ...}", c.Path)
	}
	for exp, f := range all {
		for ch, v := range f {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("normalization cache %s: experiment %q channel %q: %v is not a finite number", c.Path, exp, ch, v)
			}
		}
	}
	return all, nil
}

// write replaces the file: a temporary file in the same directory, synced,
// then renamed over it, so a crash leaves the old file or the new one.
func (c *FileCache) write(all map[string]map[string]float64) error {
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return fmt.Errorf("normalization cache %s: %w", c.Path, err)
	}
	dir := filepath.Dir(c.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("normalization cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(c.Path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("normalization cache: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), c.Path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("normalization cache: %w", werr)
	}
	return nil
}
