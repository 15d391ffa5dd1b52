package growthrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/runtime"
)

func TestCaches(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]Cache{"memory": &MemCache{}, "file": &FileCache{Path: filepath.Join(dir, "sub", CacheFile)}} {
		if _, ok, err := c.Load("a"); ok || err != nil {
			t.Fatalf("%s: empty cache Load = %v, %v", name, ok, err)
		}
		if err := c.Save("a", map[string]float64{"2": 0.05, "1": 1.5}); err != nil {
			t.Fatal(err)
		}
		if err := c.Save("b", map[string]float64{"2": 0.07}); err != nil {
			t.Fatal(err)
		}
		f, ok, err := c.Load("a")
		if !ok || err != nil || f["2"] != 0.05 || f["1"] != 1.5 {
			t.Fatalf("%s: Load(a) = %v, %v, %v", name, f, ok, err)
		}
		if err := c.Delete("a"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Load("a"); ok {
			t.Fatalf("%s: a still cached after Delete", name)
		}
		if f, ok, _ := c.Load("b"); !ok || f["2"] != 0.07 {
			t.Fatalf("%s: Delete(a) lost b: %v", name, f)
		}
		if err := c.Delete("never"); err != nil {
			t.Fatalf("%s: Delete of an unknown experiment: %v", name, err)
		}
	}
}

func TestFileCacheRefusesABadFile(t *testing.T) {
	for _, body := range []string{"null", "[1]", `{"a": {"2": "x"}}`, "{"} {
		path := filepath.Join(t.TempDir(), CacheFile)
		os.WriteFile(path, []byte(body), 0o644)
		c := &FileCache{Path: path}
		if _, _, err := c.Load("a"); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Load err = %v; want an error naming the file", body, err)
		}
		if err := c.Save("a", map[string]float64{"2": 1}); err == nil {
			t.Errorf("%s: Save overwrote a file it cannot read", body)
		}
		if b, _ := os.ReadFile(path); string(b) != body {
			t.Errorf("%s: the file became %s", body, b)
		}
	}
}

func TestDefaultCache(t *testing.T) {
	home := t.TempDir()
	env := &runtime.Env{Liquid: &liquid.FileStore{Path: filepath.Join(home, "bioreactor.json")}}
	if c, ok := DefaultCache(env).(*FileCache); !ok || c.Path != filepath.Join(home, CacheFile) {
		t.Fatalf("DefaultCache with a file store = %#v; want a FileCache in the home", DefaultCache(env))
	}
	env.Liquid = liquid.NewMemStore()
	if _, ok := DefaultCache(env).(*MemCache); !ok {
		t.Fatalf("DefaultCache with a memory store = %#v; want a MemCache", DefaultCache(env))
	}
	// ClearCache deletes the experiment's entry in the file.
	env = &runtime.Env{Experiment: "exp", Liquid: &liquid.FileStore{Path: filepath.Join(home, "bioreactor.json")}}
	fc := &FileCache{Path: filepath.Join(home, CacheFile)}
	fc.Save("exp", map[string]float64{"2": 1})
	fc.Save("other", map[string]float64{"2": 1})
	if err := ClearCache(env, Options{}); err != nil {
		t.Fatal(err)
	}
	_, ok, _ := fc.Load("exp")
	_, other, _ := fc.Load("other")
	if ok || !other {
		t.Fatalf("after ClearCache: exp cached %v, other cached %v; want false, true", ok, other)
	}
}
