package supervise

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
)

// envBudget hands a child its memory budget, in bytes. Its presence is what
// makes a pio process a script process.
const envBudget = "PIO_SCRIPT_MEMORY_BUDGET"

// logFD is the child's descriptor for its logs and messages: the parent's
// standard error, passed through untouched (a terminal stays a terminal).
// The child's fd 2 is a pipe to the parent and carries only what is written
// to os.Stderr directly, such as the Go runtime's last words.
const logFD = 3

// gcShare is the share of the budget past which the garbage collector works
// to keep the heap down, so that garbage alone does not use up the budget.
const gcShare = 0.8

// Child reports whether this process was started by Run. If it was, Child
// bounds the process to its budget first (see Limit) and returns the file
// for its logs; the caller then runs the command and exits. It removes the
// budget from the environment, so that nothing this process starts inherits
// it.
func Child() (log *os.File, ok bool, err error) {
	v, ok := os.LookupEnv(envBudget)
	if !ok {
		return nil, false, nil
	}
	os.Unsetenv(envBudget)
	log = os.NewFile(logFD, "stderr")
	if log == nil {
		log = os.Stderr
	} else if _, err := log.Stat(); err != nil {
		log = os.Stderr
	}
	budget, perr := strconv.ParseUint(v, 10, 64)
	if perr != nil || budget == 0 {
		return log, true, fmt.Errorf("%s=%q: want a positive number of bytes", envBudget, v)
	}
	inBackground()
	return log, true, Limit(budget)
}

// Limit bounds this process: from now on it may map at most bytes more of
// private writable memory (the kernel's RLIMIT_DATA, which counts the Go
// heap and goroutine and thread stacks, but not the address space the Go
// runtime only reserves), and the garbage collector works to keep the Go
// runtime's memory within gcShare of that. A request past the limit fails in
// the kernel before any of it is touched, and the Go runtime then dies with
// "fatal error: out of memory", which Run recognises.
func Limit(bytes uint64) error {
	mapped, err := dataSize()
	if err != nil {
		return fmt.Errorf("cannot bound the script's memory: %w", err)
	}
	if err := setDataLimit(mapped + bytes); err != nil {
		return fmt.Errorf("cannot bound the script's memory to %d MB: %w", bytes>>20, err)
	}
	soft := goMemory() + uint64(gcShare*float64(bytes))
	debug.SetMemoryLimit(int64(min(soft, 1<<62)))
	return nil
}

// goMemory is the memory the Go runtime has mapped and not released: what
// debug.SetMemoryLimit bounds.
func goMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	total, released := s[0].Value.Uint64(), s[1].Value.Uint64()
	if released > total {
		return 0
	}
	return total - released
}
