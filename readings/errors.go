package readings

import (
	"fmt"
	"strings"
	"time"
)

// The limits upstream's automations read readings with.
const (
	// FirstReadingTimeout is how long Latest waits for a first reading
	// while its producers run.
	FirstReadingTimeout = 10 * time.Second
	// StaleLimit is the age, by the payload's timestamp, past which a
	// reading is too stale to act on.
	StaleLimit = 5 * time.Minute
)

// RequiredError says that a reading an automation needs is not there: its
// producers do not run, its first reading did not arrive in time, or it is
// too stale. An automation's run that meets one ends in ErrorOccurred, with
// no dose.
type RequiredError struct {
	Kind Kind
	Msg  string
}

func (e *RequiredError) Error() string { return e.Msg }

func notRunning(k Kind, stopped []string) *RequiredError {
	src := sources[k]
	return &RequiredError{Kind: k, Msg: fmt.Sprintf("latest_%s requires %s to be running (not running: %s)",
		k, strings.Join(src.producers, " and "), strings.Join(stopped, ", "))}
}

func noFirstReading(k Kind, topic string) *RequiredError {
	src := sources[k]
	return &RequiredError{Kind: k, Msg: fmt.Sprintf("%s should publish %s on %s: none arrived within %v",
		src.job, src.what, topic, FirstReadingTimeout)}
}

func stale(k Kind, at, now time.Time) *RequiredError {
	return &RequiredError{Kind: k, Msg: fmt.Sprintf("readings are too stale (over 5 minutes old): the latest %s is from %s, %v before now",
		k, at.UTC().Format(time.RFC3339), now.Sub(at).Round(time.Second))}
}
