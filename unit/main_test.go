package unit

import (
	"os"
	"testing"
)

// TestMain keeps the tests' job and output locks (RunDir) apart from the
// machine's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pio-unit-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("PIO_RUN_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
