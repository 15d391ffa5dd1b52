// Package stdlib holds the Starlark library shipped with pio: the built-in
// automations, written in Starlark like any lab's own, arrive here with the
// living reactor. FS exposes the .star files to the runtime's loader.
package stdlib

import "embed"

// FS holds every .star file of the library.
//
//go:embed *.star
var FS embed.FS
