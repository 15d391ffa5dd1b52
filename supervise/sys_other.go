//go:build !linux

package supervise

import "syscall"

// Supported is true where Run and Limit work: Linux, whose RLIMIT_DATA
// (since 4.7) counts the memory a process maps for data. Elsewhere pio runs
// scripts in its own process, without a budget.
const Supported = false

func dataSize() (uint64, error)       { return 0, errUnsupported }
func setDataLimit(bytes uint64) error { return errUnsupported }
func childAttr() *syscall.SysProcAttr { return nil }
func inBackground()                   {}

func withChildStacks(start func() error) error { return start() }
