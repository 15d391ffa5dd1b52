package hat

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/piolab/pio/hw"
)

func TestPinLocksInProcess(t *testing.T) {
	l := NewPinLocks(t.TempDir())
	release, err := l.Acquire(17, "PWM channel 1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Acquire(17, "PWM channel 1")
	if !errors.Is(err, hw.ErrBusy) || !strings.Contains(err.Error(), "GPIO17 is held by PWM channel 1 in this process") {
		t.Errorf("second Acquire: %v, want hw.ErrBusy naming the pin and holder", err)
	}
	if _, err := l.Acquire(18, "PWM channel 5"); err != nil {
		t.Errorf("another pin: %v", err)
	}
	release()
	release() // a second release does nothing
	again, err := l.Acquire(17, "PWM channel 1")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
}

// Two PinLocks on one directory stand for two processes: a flock taken
// through another open file conflicts as it does between processes.
func TestPinLocksAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	first, second := NewPinLocks(dir), NewPinLocks(dir)
	release, err := first.Acquire(13, "PWM channel 2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = second.Acquire(13, "PWM channel 2")
	want := fmt.Sprintf("GPIO13 is held by PWM channel 2 (pid %d)", os.Getpid())
	if !errors.Is(err, hw.ErrBusy) || !strings.Contains(err.Error(), want) {
		t.Errorf("other process: %v, want hw.ErrBusy and %q", err, want)
	}
	release()
	r2, err := second.Acquire(13, "PWM channel 2")
	if err != nil {
		t.Fatalf("after the first released it: %v", err)
	}
	r2()
	if b, _ := os.ReadFile(first.Path(13)); len(b) != 0 {
		t.Errorf("released lock file still says %q", b)
	}
}

func TestPinLocksBadDir(t *testing.T) {
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewPinLocks(file+"/run").Acquire(17, "x")
	if err == nil || errors.Is(err, hw.ErrBusy) || !strings.Contains(err.Error(), "GPIO17 lock") {
		t.Errorf("lock under a file: %v, want an error naming the pin that is not ErrBusy", err)
	}
}
