package profile

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxTime is the latest time an action may name (a year).
const MaxTime = 365 * 24 * time.Hour

var durRe = regexp.MustCompile(`^([0-9]*\.?[0-9]+)\s*([smhd])$`)

// ParseHours reads a time as a profile writes it: a number of hours (1.5),
// or a string "90s", "30m", "2h" or "1.5d". It refuses negative times and
// times past MaxTime.
func ParseHours(s string, isNumber bool) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var hours float64
	if isNumber {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf(`want hours as a number or "30m"/"2h", got %s`, s)
		}
		hours = f
	} else {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			hours = f // "1.5" quoted: still hours
		} else if m := durRe.FindStringSubmatch(s); m != nil {
			f, _ := strconv.ParseFloat(m[1], 64)
			hours = f * map[string]float64{"s": 1.0 / 3600, "m": 1.0 / 60, "h": 1, "d": 24}[m[2]]
		} else if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("negative time %q: times count from the start", s)
		} else {
			return 0, fmt.Errorf(`want hours as a number or "30m"/"2h", got %q`, s)
		}
	}
	if hours < 0 {
		return 0, fmt.Errorf("negative time %s: times count from the start", s)
	}
	if hours > MaxTime.Hours() {
		return 0, fmt.Errorf("time %s is past the limit of %dd", s, int(MaxTime.Hours()/24))
	}
	return time.Duration(math.Round(hours * float64(time.Hour))), nil
}

// FormatTime writes d as the timeline shows it: 2h05m00s.
func FormatTime(d time.Duration) string {
	d = d.Round(time.Second)
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
}
