package hat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The HAT's ID EEPROM, as the Pi firmware exposes it under
// /proc/device-tree/hat (every string ends in a NUL byte).
const (
	hatDir       = "proc/device-tree/hat"
	hatVendor    = "Pioreactor Inc."
	hatProductID = "0x0001"
)

// Detect says whether a Pioreactor HAT is attached and its version, as
// upstream decides (§1.4 of the hardware reference, steps 1 and 2):
//
//  1. the version: env HARDWARE=M.N wins; else the last two characters of
//     <root>/proc/device-tree/hat/product_ver (0x0012 is 1.2); without the
//     file there is no version;
//  2. the presence: env HAT_PRESENT=1, else the EEPROM's vendor
//     "Pioreactor Inc." and product_id "0x0001".
//
// present is true only for a HAT that is there and has a version; reason
// says where both came from, or why there is no HAT. root "" is "/";
// getenv nil is os.Getenv. Upstream's TESTING=1 (a fake 1.2) is not copied:
// pio's tests build their boards on fakes. Step 3, the RP2040's firmware
// version, is read by the drivers when the board opens them.
func Detect(root string, getenv func(string) string) (present bool, major, minor int, reason string) {
	if root == "" {
		root = "/"
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	dir := filepath.Join(root, hatDir)

	var verFrom string
	versionKnown := false
	if v := getenv("HARDWARE"); v != "" {
		var err error
		major, minor, err = ParseHATVersion(v)
		if err != nil {
			return false, 0, 0, fmt.Sprintf("env HARDWARE=%q: %v", v, err)
		}
		versionKnown, verFrom = true, "HARDWARE="+v
	} else {
		text, err := readEEPROMString(dir, "product_ver")
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// no version: decided below with the presence
		case err != nil:
			return false, 0, 0, err.Error()
		default:
			major, minor, err = parseProductVer(text)
			if err != nil {
				return false, 0, 0, fmt.Sprintf("%s: %v", filepath.Join(dir, "product_ver"), err)
			}
			versionKnown, verFrom = true, fmt.Sprintf("product_ver %s", text)
		}
	}

	var presentFrom string
	if getenv("HAT_PRESENT") == "1" {
		presentFrom = "HAT_PRESENT=1"
	} else {
		vendor, verr := readEEPROMString(dir, "vendor")
		product, perr := readEEPROMString(dir, "product_id")
		switch {
		case errors.Is(verr, fs.ErrNotExist) && errors.Is(perr, fs.ErrNotExist):
			return false, 0, 0, fmt.Sprintf("%s is absent: no HAT EEPROM was read at boot", dir)
		case verr != nil:
			return false, 0, 0, verr.Error()
		case perr != nil:
			return false, 0, 0, perr.Error()
		case vendor != hatVendor || product != hatProductID:
			return false, 0, 0, fmt.Sprintf("the HAT in %s is vendor %q product_id %q, not a Pioreactor HAT (%q, %q)", dir, vendor, product, hatVendor, hatProductID)
		}
		presentFrom = "EEPROM vendor " + vendor
	}
	if !versionKnown {
		return false, 0, 0, fmt.Sprintf("a HAT is present (%s) but its version is unknown: %s is absent; set HARDWARE=M.N", presentFrom, filepath.Join(dir, "product_ver"))
	}
	return true, major, minor, fmt.Sprintf("Pioreactor HAT %d.%d (%s, %s)", major, minor, presentFrom, verFrom)
}

// readEEPROMString reads one file of the HAT's EEPROM without its trailing
// NUL bytes and white space.
func readEEPROMString(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00")), nil
}

// parseProductVer reads product_ver as upstream: its last two characters are
// the major and minor digits ("0x0012" is 1.2).
func parseProductVer(s string) (major, minor int, err error) {
	if len(s) < 2 {
		return 0, 0, fmt.Errorf("product_ver %q is shorter than 2 characters", s)
	}
	ma, err1 := strconv.Atoi(s[len(s)-2 : len(s)-1])
	mi, err2 := strconv.Atoi(s[len(s)-1:])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("product_ver %q does not end in two digits", s)
	}
	return ma, mi, nil
}

// ParseHATVersion reads "M.N" (as env HARDWARE gives it) into major and
// minor.
func ParseHATVersion(s string) (major, minor int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ".")
	if ok {
		major, err = strconv.Atoi(a)
		if err == nil {
			minor, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || major < 0 || minor < 0 {
		return 0, 0, fmt.Errorf("HAT version %q is not of the form M.N (like 1.2)", s)
	}
	return major, minor, nil
}
