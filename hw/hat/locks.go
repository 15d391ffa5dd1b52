package hat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/piolab/pio/hw"
)

// PinLocks makes one user the driver of a GPIO pin: in this process through a
// map, and across processes through an exclusive flock on gpio<N>.lock under
// a run directory. The kernel drops a flock when its process dies, however it
// dies, so a killed process never leaves a pin locked (upstream's lock table
// needs a manual purge).
type PinLocks struct {
	dir string

	mu   sync.Mutex
	held map[int]string // pin → holder, in this process
}

// NewPinLocks returns the locks kept under dir (the unit's run directory,
// e.g. /run/pio/<unit>), created on first use.
func NewPinLocks(dir string) *PinLocks {
	return &PinLocks{dir: dir, held: map[int]string{}}
}

// pinHolder is what a lock file says about its holder.
type pinHolder struct {
	Holder string `json:"holder"`
	PID    int    `json:"pid"`
}

// Acquire makes holder (a name for the error message of the next user, such
// as "PWM channel 1") the one driver of pin. A pin held elsewhere is an
// error wrapping hw.ErrBusy that names the pin and its holder. The returned
// function releases the pin; calling it again does nothing.
func (l *PinLocks) Acquire(pin int, holder string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.held[pin]; ok {
		return nil, fmt.Errorf("GPIO%d is held by %s in this process: %w", pin, h, hw.ErrBusy)
	}
	f, err := l.lockFile(pin, holder)
	if err != nil {
		return nil, err
	}
	l.held[pin] = holder
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, pin)
			l.mu.Unlock()
			_ = f.Truncate(0)
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			_ = f.Close()
		})
	}, nil
}

// Path is the lock file of pin.
func (l *PinLocks) Path(pin int) string {
	return filepath.Join(l.dir, fmt.Sprintf("gpio%d.lock", pin))
}

func (l *PinLocks) lockFile(pin int, holder string) (*os.File, error) {
	if err := os.MkdirAll(l.dir, 0o777); err != nil {
		return nil, fmt.Errorf("GPIO%d lock: %w", pin, err)
	}
	path := l.Path(pin)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("GPIO%d lock: %w", pin, err)
	}
	// Every user of the machine shares the pins.
	_ = f.Chmod(0o666)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("GPIO%d lock %s: %w", pin, path, err)
		}
		return nil, fmt.Errorf("GPIO%d is held by %s: %w", pin, describeHolder(path), hw.ErrBusy)
	}
	b, _ := json.Marshal(pinHolder{Holder: holder, PID: os.Getpid()})
	_ = f.Truncate(0)
	_, _ = f.WriteAt(b, 0)
	return f, nil
}

// describeHolder reads who holds a lock file, for an error message.
func describeHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "another process"
	}
	var h pinHolder
	if json.Unmarshal(b, &h) != nil || h.PID == 0 {
		return "another process"
	}
	if h.Holder == "" {
		return fmt.Sprintf("pid %d", h.PID)
	}
	return fmt.Sprintf("%s (pid %d)", h.Holder, h.PID)
}
