package supervise

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// Supported is true where Run and Limit work: Linux, whose RLIMIT_DATA
// (since 4.7) counts the memory a process maps for data.
const Supported = true

// dataSize is the private writable memory this process has mapped, in bytes:
// VmData in /proc/self/status, the quantity RLIMIT_DATA bounds.
func dataSize() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmData:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/self/status: VmData %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/self/status has no VmData line")
}

// setDataLimit sets the soft and hard RLIMIT_DATA of this process. Lowering
// both needs no privilege, and nothing in the process can raise them again.
// A lower limit set by the administrator stays.
func setDataLimit(bytes uint64) error {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_DATA, &cur); err != nil {
		return err
	}
	lim := syscall.Rlimit{Cur: min(bytes, cur.Cur), Max: min(bytes, cur.Max)}
	return syscall.Setrlimit(syscall.RLIMIT_DATA, &lim)
}

// childAttr puts the child in a process group of its own, so that a
// terminal's Ctrl-C reaches the parent only, which forwards it once; and
// asks the kernel to send the child SIGTERM (a clean stop) if the parent
// dies first. Run keeps the thread that starts the child alive until the
// child has ended, as Pdeathsig watches that thread.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// childThreadStack is the stack size of the threads the C library creates
// for the child's Go runtime when pio is built with cgo: 1 MB, instead of
// the 8 MB that RLIMIT_STACK usually gives. Each such stack is mapped
// writable at once and counts in full towards RLIMIT_DATA, though only
// kilobytes of it are ever touched; with 8 MB, a machine with many cores
// would spend the budget on threads. Go code runs on goroutine stacks; a
// thread's own stack only carries the runtime and C calls.
const childThreadStack = 1 << 20

// withChildStacks runs start (which starts the child) with this process's
// soft RLIMIT_STACK lowered to childThreadStack, and restores it: the child
// inherits the limit, and its C library sizes the threads it creates from
// it when the program starts. This process, which only waits, creates no
// threads with it and keeps the main stack it has.
func withChildStacks(start func() error) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_STACK, &lim); err != nil || lim.Cur <= childThreadStack {
		return start() // unlimited is the largest value
	}
	small := syscall.Rlimit{Cur: childThreadStack, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_STACK, &small); err != nil {
		return start()
	}
	defer syscall.Setrlimit(syscall.RLIMIT_STACK, &lim)
	return start()
}

// inBackground lets a child in its own process group write to the terminal
// even when the terminal stops background writers (stty tostop).
func inBackground() { signal.Ignore(syscall.SIGTTOU) }
