package builtins

import (
	"fmt"

	"go.starlark.net/starlark"
)

// Store is the script's memory between execute() calls: a dict that stays
// mutable after the module is frozen. Scripts use it like a dict:
//
//	store["runs"] = store.get("runs", 0) + 1
type Store struct{ d *starlark.Dict }

var (
	_ starlark.HasSetKey       = (*Store)(nil)
	_ starlark.HasAttrs        = (*Store)(nil)
	_ starlark.IterableMapping = (*Store)(nil)
)

// NewStore returns an empty store.
func NewStore() *Store { return &Store{d: starlark.NewDict(8)} }

func (s *Store) String() string        { return "store(" + s.d.String() + ")" }
func (s *Store) Type() string          { return "store" }
func (s *Store) Freeze()               {} // deliberately stays mutable
func (s *Store) Truth() starlark.Bool  { return s.d.Len() > 0 }
func (s *Store) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: store") }

// Get implements starlark.Mapping.
func (s *Store) Get(k starlark.Value) (starlark.Value, bool, error) { return s.d.Get(k) }

// SetKey implements starlark.HasSetKey.
func (s *Store) SetKey(k, v starlark.Value) error { return s.d.SetKey(k, v) }

// Iterate implements starlark.Iterable.
func (s *Store) Iterate() starlark.Iterator { return s.d.Iterate() }

// Items implements starlark.IterableMapping.
func (s *Store) Items() []starlark.Tuple { return s.d.Items() }

// Len is the number of keys.
func (s *Store) Len() int { return s.d.Len() }

// Attr implements starlark.HasAttrs: the dict methods get, keys, values,
// items, pop, clear, setdefault and update.
func (s *Store) Attr(name string) (starlark.Value, error) {
	switch name {
	case "get", "keys", "values", "items", "pop", "clear", "setdefault", "update":
		return s.d.Attr(name)
	}
	return nil, nil
}

// AttrNames implements starlark.HasAttrs.
func (s *Store) AttrNames() []string {
	return []string{"clear", "get", "items", "keys", "pop", "setdefault", "update", "values"}
}
