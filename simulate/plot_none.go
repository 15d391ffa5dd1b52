//go:build noplot

package simulate

import "errors"

// Plotting is false in a build without plots (go build -tags noplot, as
// the Raspberry Pi binaries are made: the plotting library's fonts are a
// fifth of a binary). The series still make a table (--csv).
const Plotting = false

// Plot refuses: this build has no plotting library.
func (s *Series) Plot(path string) error {
	return errors.New("simulate: this build of pio has no plots (built with -tags noplot, as the Raspberry Pi binaries are): write a table with --csv, or plot with pio on a computer")
}
