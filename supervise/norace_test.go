//go:build !race

package supervise

// raceEnabled: the race detector's shadow memory adds to a process's
// resident memory.
const raceEnabled = false
