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

// Supported is true where Run and Limit work: Linux.
const Supported = true

// addressSpace is the address space this process has mapped, in bytes:
// VmSize in /proc/self/status, the quantity RLIMIT_AS bounds.
func addressSpace() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmSize:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/self/status: VmSize %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/self/status has no VmSize line")
}

// setAddressSpaceLimit sets the soft and hard RLIMIT_AS of this process.
// Lowering both needs no privilege, and nothing in the process can raise
// them again. A lower limit set by the administrator stays.
func setAddressSpaceLimit(bytes uint64) error {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &cur); err != nil {
		return err
	}
	lim := syscall.Rlimit{Cur: min(bytes, cur.Cur), Max: min(bytes, cur.Max)}
	return syscall.Setrlimit(syscall.RLIMIT_AS, &lim)
}

// childAttr puts the child in a process group of its own, so that a
// terminal's Ctrl-C reaches the parent only, which forwards it once.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

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
