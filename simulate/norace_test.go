//go:build !race

package simulate

// raceEnabled: the race detector slows a simulated week tenfold and adds
// its shadow memory to the heap and the resident set.
const raceEnabled = false
