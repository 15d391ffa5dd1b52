package script

import "go.starlark.net/starlark"

// Loader returns the load function (starlark.Thread.Load) of a Starlark
// file that is not itself a script, such as a script's tests (package
// scripttest): names resolve as a script's do (load.go), from the folder of
// path, and each module runs once, with universe. Thread steps beyond
// maxSteps are reported as limit.
func Loader(path string, universe starlark.StringDict, maxSteps uint64, limit string) func(*starlark.Thread, string) (starlark.StringDict, error) {
	return newLoader(path, universe, Families["dosing"], "", maxSteps, limit).load
}
