//go:build !linux

package supervise

import "syscall"

// Supported is true where Run and Limit work: Linux. Elsewhere pio runs
// scripts in its own process, without a budget.
const Supported = false

func addressSpace() (uint64, error)           { return 0, errUnsupported }
func setAddressSpaceLimit(bytes uint64) error { return errUnsupported }
func childAttr() *syscall.SysProcAttr         { return nil }
func inBackground()                           {}

func withChildStacks(start func() error) error { return start() }
