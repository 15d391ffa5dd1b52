//go:build race

package runtime

// raceDetector is set when the tests run with -race.
const raceDetector = true
