package hat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeEEPROM writes the HAT files under root/proc/device-tree/hat, each
// ending in a NUL byte as the firmware writes them.
func fakeEEPROM(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, hatDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDetect(t *testing.T) {
	pioneer := map[string]string{"vendor": "Pioreactor Inc.", "product_id": "0x0001", "product_ver": "0x0012"}
	tests := []struct {
		name         string
		files        map[string]string // nil: no hat directory
		env          map[string]string
		present      bool
		major, minor int
		reason       string
	}{
		{"no EEPROM", nil, nil, false, 0, 0, "is absent: no HAT EEPROM"},
		{"HAT 1.2", pioneer, nil, true, 1, 2, "Pioreactor HAT 1.2 (EEPROM vendor Pioreactor Inc., product_ver 0x0012)"},
		{"HAT 1.0", map[string]string{"vendor": "Pioreactor Inc.", "product_id": "0x0001", "product_ver": "0x0010"}, nil, true, 1, 0, "HAT 1.0"},
		{"HARDWARE wins over the EEPROM", pioneer, map[string]string{"HARDWARE": "1.1"}, true, 1, 1, "HARDWARE=1.1"},
		{"another vendor's HAT", map[string]string{"vendor": "Acme", "product_id": "0x0001", "product_ver": "0x0012"}, nil, false, 0, 0, `vendor "Acme"`},
		{"another product", map[string]string{"vendor": "Pioreactor Inc.", "product_id": "0x0002", "product_ver": "0x0012"}, nil, false, 0, 0, `product_id "0x0002"`},
		{"HAT_PRESENT and HARDWARE without EEPROM", nil, map[string]string{"HAT_PRESENT": "1", "HARDWARE": "1.2"}, true, 1, 2, "HAT_PRESENT=1, HARDWARE=1.2"},
		{"HAT_PRESENT without a version", nil, map[string]string{"HAT_PRESENT": "1"}, false, 0, 0, "version is unknown"},
		{"bad HARDWARE", pioneer, map[string]string{"HARDWARE": "one"}, false, 0, 0, `HARDWARE="one"`},
		{"bad product_ver", map[string]string{"vendor": "Pioreactor Inc.", "product_id": "0x0001", "product_ver": "0x00ab"}, nil, false, 0, 0, "does not end in two digits"},
		{"short product_ver", map[string]string{"vendor": "Pioreactor Inc.", "product_id": "0x0001", "product_ver": "1"}, nil, false, 0, 0, "shorter than 2"},
		{"version without vendor", map[string]string{"product_ver": "0x0012"}, nil, false, 0, 0, "vendor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.files != nil {
				root = fakeEEPROM(t, tt.files)
			}
			present, major, minor, reason := Detect(root, envOf(tt.env))
			if present != tt.present || major != tt.major || minor != tt.minor {
				t.Errorf("Detect = %v %d.%d (%s), want %v %d.%d", present, major, minor, reason, tt.present, tt.major, tt.minor)
			}
			if !strings.Contains(reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", reason, tt.reason)
			}
		})
	}
}

func TestParseHATVersion(t *testing.T) {
	for _, tt := range []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"1.2", 1, 2, true}, {" 0.1 ", 0, 1, true}, {"1", 0, 0, false}, {"1.x", 0, 0, false}, {"-1.0", 0, 0, false}, {"", 0, 0, false},
	} {
		ma, mi, err := ParseHATVersion(tt.in)
		if (err == nil) != tt.ok || ma != tt.major || mi != tt.minor {
			t.Errorf("ParseHATVersion(%q) = %d.%d, %v", tt.in, ma, mi, err)
		}
	}
}
