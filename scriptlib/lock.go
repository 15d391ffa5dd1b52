package scriptlib

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the file in the library whose lock installs and removals
// hold while they change a script's folder.
const lockFile = ".lock"

// lock takes the library's write lock, waiting for any install or removal
// that holds it, in this process or another, to finish: two of them that
// ran at once could each move the other's folder aside. It creates the
// library's folder if needed.
func (l *Library) lock() (unlock func(), err error) {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("script library: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(l.Dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("script library: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("script library: lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil // closing the file releases its lock
}
