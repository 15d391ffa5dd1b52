// Package supervise runs a pio command that executes a script in a child
// process under a memory budget, so that a script that asks for too much
// memory ends its own process and not the one that reports it.
//
// Starlark has no allocation budget: "a" * 1000000000 or [0] * 1000000000
// allocate in one step, inside go.starlark.net, before pio could look at the
// size. So the kernel enforces the budget. The parent (Run) starts the same
// program again with the budget in its environment; the child (Child, at the
// top of main) sets its own RLIMIT_AS to the address space it has mapped
// plus the budget (and one heap arena) before it reads the script, and a
// garbage-collector soft limit inside that (see Limit). An allocation past the limit is refused by the kernel before
// a page of it is touched, and the child's Go runtime dies with "fatal error:
// out of memory". The parent survives, recognises that death (Result), and
// tells the user in one line; the goroutine dump the runtime prints is held
// back.
//
// Logs: the child writes its logs straight to the parent's standard error,
// passed as fd 3 (Child returns it), so a terminal stays a terminal; its fd 2, where
// the Go runtime writes when it dies, is a pipe the parent reads.
//
// Signals: the child has a process group of its own, so a terminal's Ctrl-C
// reaches the parent alone, which forwards it (and SIGTERM, SIGHUP,
// SIGQUIT) to the child exactly once; a second Ctrl-C is a second signal, as
// without a parent. If the parent dies, the child stops as on one SIGTERM:
// it holds the read end of a pipe whose only writer is the parent, and reads
// end of file when the parent is gone.
package supervise

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// Options describe the child.
type Options struct {
	// Args is the command line; Args[0] is the program name as typed. The
	// program run is this executable.
	Args []string
	// Budget is how many bytes of memory the child may map beyond what it has
	// when it starts.
	Budget uint64
	// Stdout is the child's standard output, Log its logs and the parent's
	// standard error. Nil means os.Stdout and os.Stderr.
	Stdout, Log *os.File
}

// Result is how the child ended.
type Result struct {
	// Code is the child's exit status, or -1 if a signal killed it.
	Code int
	// Signal is the signal that killed the child, if one did.
	Signal syscall.Signal
	// OutOfMemory is true when the child died asking for memory past its
	// budget. Its dying words are then not forwarded.
	OutOfMemory bool
	// Crashed is true when the child did not end on its own: the Go runtime
	// threw (out of memory among other reasons) or a signal killed it. Outputs
	// it drove may be left as they were.
	Crashed bool
	// MaxRSS is the child's peak resident memory, in bytes.
	MaxRSS uint64
}

// childThreadStack is the stack size of the threads the C library creates
// for the child's Go runtime when pio is built with cgo: 1 MB, instead of
// the 8 MB that RLIMIT_STACK usually gives. Each such stack is mapped at
// once and counts in full towards RLIMIT_AS, though only kilobytes of it are
// ever touched; with 8 MB, a machine with many cores would spend the budget
// on threads. Go code runs on goroutine stacks; a
// thread's own stack only carries the runtime and C calls.
const childThreadStack = 1 << 20

// errUnsupported is the error of Run and Limit where Supported is false.
var errUnsupported = errors.New("a memory budget for scripts needs Linux")

// forwarded are the signals the parent passes on to the child.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// Run runs this executable with o.Args as a child under o.Budget and waits
// for it to end. While it runs, the signals in forwarded are passed to the
// child instead of acting on this process. The error is for a child that
// could not start; how a started child ended is in Result.
func Run(o Options) (Result, error) {
	if !Supported {
		return Result{}, fmt.Errorf("supervise: %w", errUnsupported)
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Budget == 0 {
		return Result{}, fmt.Errorf("supervise: a budget of 0 bytes")
	}
	exe, err := os.Executable()
	if err != nil {
		return Result{}, fmt.Errorf("supervise: cannot find this program to run the script: %w", err)
	}
	// The child holds the read end of the lifeline; this process, the only
	// holder of the write end, never writes. If this process dies, the child
	// reads end of file and stops as on one SIGTERM (see Child).
	lifeline, keep, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("supervise: %w", err)
	}
	defer keep.Close()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        o.Args,
		Env:         childEnv(os.Environ(), o.Budget),
		Stdin:       os.Stdin,
		Stdout:      o.Stdout,
		ExtraFiles:  []*os.File{o.Log, lifeline}, // fd 3, fd 4
		SysProcAttr: childAttr(),
	}
	last := &lastWords{out: o.Log}
	cmd.Stderr = last

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	err = withChildStacks(cmd.Start)
	lifeline.Close()
	if err != nil {
		return Result{}, fmt.Errorf("supervise: starting %s: %w", exe, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
wait:
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case waitErr = <-done:
			break wait
		}
	}
	if cmd.ProcessState == nil {
		return Result{}, fmt.Errorf("supervise: waiting for the child: %w", waitErr)
	}
	ps := cmd.ProcessState
	var sig syscall.Signal
	if st, ok := ps.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		sig = st.Signal()
	}
	r := last.end(ps.ExitCode(), sig)
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		r.MaxRSS = uint64(ru.Maxrss) << 10 // kB on Linux
	}
	return r, nil
}

// childEnv is the child's environment: this one, with the budget, and with
// MALLOC_ARENA_MAX=1 unless it is set. The latter keeps the C library (when
// pio is built with cgo) from reserving 64 MB of address space for each
// thread that calls malloc, which would spend the budget on nothing.
func childEnv(env []string, budget uint64) []string {
	out := env[:0:0]
	arenas := false
	for _, kv := range env {
		if strings.HasPrefix(kv, envBudget+"=") {
			continue
		}
		arenas = arenas || strings.HasPrefix(kv, "MALLOC_ARENA_MAX=")
		out = append(out, kv)
	}
	if !arenas {
		out = append(out, "MALLOC_ARENA_MAX=1")
	}
	return append(out, envBudget+"="+strconv.FormatUint(budget, 10))
}
