package calibration

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Active returns the device's active calibration, or ErrNoActive. A device
// name CheckDevice refuses has none (the store cannot hold one): the error
// says why and wraps ErrNoActive. With no active calibration in Dir, the
// one active in Legacy (if any) is used. The active file is read trimmed,
// and the name in it must pass CheckName; the calibration file must name
// the same calibration, and pass Validate.
func (s Store) Active(device string) (Pump, error) {
	if s.Dir == "" {
		return Pump{}, ErrNoActive
	}
	if err := CheckDevice(device); err != nil {
		return Pump{}, fmt.Errorf("%w: %w", ErrNoActive, err)
	}
	name, err := s.ActiveName(device)
	if errors.Is(err, ErrNoActive) && s.Legacy != "" {
		return Store{Dir: s.Legacy}.Active(device)
	}
	if err != nil {
		return Pump{}, err
	}
	return s.Pump(device, name)
}

// ActiveName is the name in Dir/<device>/active, or ErrNoActive when there
// is no such file.
func (s Store) ActiveName(device string) (string, error) {
	if err := CheckDevice(device); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoActive, err)
	}
	activePath := filepath.Join(s.deviceDir(device), "active")
	b, err := os.ReadFile(activePath)
	if os.IsNotExist(err) {
		return "", ErrNoActive
	}
	if err != nil {
		return "", fmt.Errorf("calibration: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if err := CheckName(name); err != nil {
		return "", fmt.Errorf("%s: %w", activePath, err)
	}
	return name, nil
}

// Pump loads the pump calibration name of device: Dir/<device>/<name>.yaml,
// else an earlier pio's Dir/<device>/<name>.json. Its calibration_name must
// be the name of its file, and it must pass Validate.
func (s Store) Pump(device, name string) (Pump, error) {
	if err := CheckDevice(device); err != nil {
		return Pump{}, err
	}
	if err := CheckName(name); err != nil {
		return Pump{}, err
	}
	path := filepath.Join(s.deviceDir(device), name+".yaml")
	f, err := readFile(path)
	if os.IsNotExist(err) {
		return s.jsonPump(device, name)
	}
	if err != nil {
		return Pump{}, err
	}
	if f.Name != name {
		return Pump{}, fmt.Errorf("calibration: %s: calibration_name is %q, want %q, the name of its file", path, f.Name, name)
	}
	p, err := f.Pump(device)
	if err != nil {
		return Pump{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// jsonPump reads an earlier pio's JSON calibration: a line, with the
// device in the file.
func (s Store) jsonPump(device, name string) (Pump, error) {
	path := filepath.Join(s.deviceDir(device), name+".json")
	b, err := readLimited(path)
	if err != nil {
		return Pump{}, err
	}
	p := Pump{Voltage: -1}
	if err := json.Unmarshal(b, &p); err != nil {
		return Pump{}, fmt.Errorf("calibration: %s: %w", path, err)
	}
	switch {
	case p.Name != name:
		return Pump{}, fmt.Errorf("calibration: %s: calibration_name is %q, want %q, the name of its file", path, p.Name, name)
	case p.Device != device:
		return Pump{}, fmt.Errorf("calibration: %s: device is %q, want %q, the directory it is in", path, p.Device, device)
	}
	if err := p.Validate(); err != nil {
		return Pump{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// readLimited reads a file of at most MaxFileBytes.
func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, err
		}
		return nil, fmt.Errorf("calibration: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("calibration: %s: larger than the maximum %d bytes of a calibration file", path, MaxFileBytes)
	}
	return b, nil
}

// readFile reads and parses one upstream YAML file.
func readFile(path string) (File, error) {
	b, err := readLimited(path)
	if err != nil {
		return File{}, err
	}
	return ParseFile(path, b)
}

// Entry is one calibration in a store, as List finds it.
type Entry struct {
	Device string
	Name   string
	// Type is the calibration_type (simple_peristaltic_pump for an earlier
	// pio's JSON file); empty when the file cannot be read, and Err says why.
	Type      string
	CreatedAt time.Time
	Active    bool
	// Path is the file; Legacy marks an earlier pio's JSON calibration.
	Path   string
	Legacy bool
	Err    error
}

// Devices lists the devices with a directory in Dir (and in Legacy),
// sorted.
func (s Store) Devices() ([]string, error) {
	seen := map[string]bool{}
	for _, dir := range []string{s.Dir, s.Legacy} {
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("calibration: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() && CheckDevice(e.Name()) == nil {
				seen[e.Name()] = true
			}
		}
	}
	devices := make([]string, 0, len(seen))
	for d := range seen {
		devices = append(devices, d)
	}
	sort.Strings(devices)
	return devices, nil
}

// List lists a device's calibrations: the YAML files in Dir (of any
// calibration_type), then the JSON ones in Dir and Legacy that no YAML file
// of the same name shadows, each sorted by name. A file that cannot be read
// is listed with Err. Active marks the calibration Active would use.
func (s Store) List(device string) ([]Entry, error) {
	if err := CheckDevice(device); err != nil {
		return nil, err
	}
	active, activeLegacy := "", false
	if name, err := s.ActiveName(device); err == nil {
		active = name
	} else if s.Legacy != "" {
		if name, err := (Store{Dir: s.Legacy}).ActiveName(device); err == nil {
			active, activeLegacy = name, true
		}
	}
	var list []Entry
	seen := map[string]bool{}
	add := func(dir string, legacy bool) error {
		st := Store{Dir: dir}
		entries, err := os.ReadDir(st.deviceDir(device))
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("calibration: %w", err)
		}
		for _, ext := range []string{".yaml", ".json"} {
			for _, de := range entries {
				name, ok := strings.CutSuffix(de.Name(), ext)
				if !ok || de.IsDir() || CheckName(name) != nil || seen[name] {
					continue
				}
				seen[name] = true
				e := Entry{Device: device, Name: name, Path: filepath.Join(st.deviceDir(device), de.Name()), Legacy: ext == ".json"}
				e.Active = name == active && legacy == activeLegacy
				if ext == ".yaml" {
					f, err := readFile(e.Path)
					e.Type, e.Err = f.Type, err
					if err == nil {
						e.CreatedAt, e.Err = f.Created()
					}
				} else {
					p, err := st.jsonPump(device, name)
					e.Type, e.CreatedAt, e.Err = PumpType, p.CreatedAt, err
				}
				list = append(list, e)
			}
		}
		return nil
	}
	if err := add(s.Dir, false); err != nil {
		return nil, err
	}
	if s.Legacy != "" {
		if err := add(s.Legacy, true); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Legacy != list[j].Legacy {
			return !list[i].Legacy
		}
		return list[i].Name < list[j].Name
	})
	return list, nil
}

// File reads the YAML calibration name of device, of any calibration_type.
func (s Store) File(device, name string) (File, string, error) {
	if err := CheckDevice(device); err != nil {
		return File{}, "", err
	}
	if err := CheckName(name); err != nil {
		return File{}, "", err
	}
	path := filepath.Join(s.deviceDir(device), name+".yaml")
	f, err := readFile(path)
	if os.IsNotExist(err) {
		return File{}, path, fmt.Errorf("calibration: %s has no calibration %q (no %s)", device, name, path)
	}
	return f, path, err
}

// SetActive makes name the device's active calibration. The calibration
// must exist in Dir as a YAML file of any type (a pump calibration must
// also load); an earlier pio's JSON calibration (in Dir or Legacy) is
// copied into Dir as YAML first. An empty name clears the device's active
// calibration, as upstream's set-active without --name does.
func (s Store) SetActive(device, name string) error {
	if err := CheckDevice(device); err != nil {
		return err
	}
	activePath := filepath.Join(s.deviceDir(device), "active")
	if name == "" {
		if err := os.Remove(activePath); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("calibration: %w", err)
		}
		if s.Legacy != "" {
			// An earlier pio's active calibration would take over otherwise.
			if err := os.Remove(filepath.Join(Store{Dir: s.Legacy}.deviceDir(device), "active")); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("calibration: %w", err)
			}
		}
		return nil
	}
	if err := CheckName(name); err != nil {
		return err
	}
	f, path, err := s.File(device, name)
	switch {
	case err == nil && f.Name != name:
		return fmt.Errorf("calibration: %s: calibration_name is %q, want %q, the name of its file", path, f.Name, name)
	case err == nil && f.Type == PumpType:
		if _, err := f.Pump(device); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case err == nil:
	default:
		// Not a YAML file in Dir: an earlier pio's JSON one, migrated.
		p, jerr := s.legacyPump(device, name)
		if jerr != nil {
			return err
		}
		return s.Save(p)
	}
	return writeAtomic(activePath, []byte(name+"\n"))
}

// legacyPump finds an earlier pio's JSON calibration in Dir, then Legacy.
func (s Store) legacyPump(device, name string) (Pump, error) {
	p, err := s.jsonPump(device, name)
	if os.IsNotExist(err) && s.Legacy != "" {
		return Store{Dir: s.Legacy}.jsonPump(device, name)
	}
	return p, err
}

// Delete removes the calibration name of device from Dir (its YAML file, or
// an earlier pio's JSON file there); if it was active, the device has no
// active calibration after it. Calibrations in Legacy are never deleted:
// the error says where the file is.
func (s Store) Delete(device, name string) error {
	if err := CheckDevice(device); err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	removed := false
	for _, ext := range []string{".yaml", ".json"} {
		err := os.Remove(filepath.Join(s.deviceDir(device), name+ext))
		switch {
		case err == nil:
			removed = true
		case !os.IsNotExist(err):
			return fmt.Errorf("calibration: %w", err)
		}
	}
	if !removed {
		if s.Legacy != "" {
			legacy := filepath.Join(Store{Dir: s.Legacy}.deviceDir(device), name+".json")
			if _, err := os.Stat(legacy); err == nil {
				return fmt.Errorf("calibration: %s/%s is an earlier pio's calibration, %s; pio does not delete those: remove the file if you mean to", device, name, legacy)
			}
		}
		return fmt.Errorf("calibration: %s has no calibration %q in %s", device, name, s.deviceDir(device))
	}
	if active, err := s.ActiveName(device); err == nil && active == name {
		if err := os.Remove(filepath.Join(s.deviceDir(device), "active")); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("calibration: %w", err)
		}
	}
	return nil
}
