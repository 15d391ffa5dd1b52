package supervise

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"syscall"
	"unsafe"
)

// envBudget hands a child its memory budget, in bytes. Its presence is what
// makes a pio process a script process.
const envBudget = "PIO_SCRIPT_MEMORY_BUDGET"

// logFD is the child's descriptor for its logs and messages: the parent's
// standard error, passed through untouched (a terminal stays a terminal).
// The child's fd 2 is a pipe to the parent and carries only what is written
// to os.Stderr directly, such as the Go runtime's last words.
const logFD = 3

// lifelineFD is the child's descriptor for the read end of a pipe whose
// write end only the parent holds: it reads end of file when the parent is
// gone.
const lifelineFD = 4

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
	if f := os.NewFile(lifelineFD, "lifeline"); f != nil {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
			go stopWhenOrphaned(f)
		}
	}
	return log, true, Limit(budget)
}

// stopWhenOrphaned sends this process one SIGTERM, the signal for a clean
// stop, when the parent is gone: when the lifeline reads end of file. The
// kernel's parent-death signal is not used: it can arrive more than once,
// and a second SIGTERM is pio's way to end a stuck process at once.
func stopWhenOrphaned(lifeline *os.File) {
	var b [1]byte
	for {
		if _, err := lifeline.Read(b[:]); err != nil {
			break
		}
	}
	lifeline.Close()
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
}

// heapArena is how much address space the Go runtime reserves for its heap
// at a time on Linux: 64 MB on 64-bit systems, 4 MB on 32-bit ones. On
// 64-bit systems the heap starts at a random place in its first arena, so
// even a small heap may need a second one.
func heapArena() uint64 {
	if unsafe.Sizeof(uintptr(0)) == 8 {
		return 64 << 20
	}
	return 4 << 20
}

// Limit bounds this process: from now on its address space may grow by at
// most bytes plus one heap arena (the kernel's RLIMIT_AS), and the garbage
// collector works to keep the Go runtime's memory within gcShare of bytes.
// A request past the limit fails in the kernel before any of it is touched,
// and the Go runtime then dies with "fatal error: out of memory", which Run
// recognises.
//
// RLIMIT_AS, not RLIMIT_DATA: the Go runtime reserves address space without
// access and then maps it writable in place (mmap MAP_FIXED), and Linux
// counts such a mapping against RLIMIT_DATA only by what it adds to the
// address space, which is nothing: a 1 GB heap can pass a 64 MB RLIMIT_DATA.
// RLIMIT_AS counts the reservation itself.
func Limit(bytes uint64) error {
	size, err := addressSpace()
	if err != nil {
		return fmt.Errorf("cannot bound the script's memory: %w", err)
	}
	if err := setAddressSpaceLimit(size + bytes + heapArena()); err != nil {
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
