package supervise

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// maxHeld bounds the dying words lastWords keeps; a goroutine dump past it
// is cut.
const maxHeld = 1 << 20

// crashStart matches the first line of a Go program's dying words: a
// runtime error, a fatal signal, a panic nothing recovered, or an error of
// the race detector's runtime (in -race builds).
var crashStart = regexp.MustCompile(`^(fatal error: |runtime: |runtime/cgo: |panic: |SIG[A-Z0-9]+: |==[0-9]+==ERROR: )`)

// outOfMemory are phrases of the Go runtime's dying words that mean a
// request for memory was refused: "fatal error: out of memory", "runtime:
// cannot allocate memory" (mmap's ENOMEM), a thread whose stack could not
// be mapped; in -race builds, the race detector's "failed to allocate ...
// (errno: 12)" and the heap's "too many address space collisions".
var outOfMemory = []string{"out of memory", "cannot allocate memory", "pthread_create failed", "errno=12",
	"errno: 12", "too many address space collisions"}

// faultAddr finds the faulting address in the second line of a fatal
// signal's report ("PC=0x4394dd m=3 sigcode=1 addr=0x0").
var faultAddr = regexp.MustCompile(` addr=0x([0-9a-f]+)`)

// lastWords is the child's fd 2. It forwards each line to out until a line
// starts the Go runtime's dying words; it holds those back, to be dropped if
// they say the child ran out of memory and forwarded otherwise.
type lastWords struct {
	out     io.Writer
	partial []byte // an unfinished line
	held    []byte // the dying words, from their first line
	dying   bool
}

func (w *lastWords) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		line := p[:i+1]
		p = p[i+1:]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = nil
		}
		w.line(line)
	}
	return n, nil
}

func (w *lastWords) line(l []byte) {
	if !w.dying && crashStart.Match(l) {
		w.dying = true
	}
	if !w.dying {
		w.out.Write(l)
		return
	}
	if len(w.held) < maxHeld {
		w.held = append(w.held, l[:min(len(l), maxHeld-len(w.held))]...)
	}
}

// end says how the child ended, from its exit status (-1 if a signal
// killed it) and the signal, and forwards the words held back unless they
// are an out-of-memory death.
func (w *lastWords) end(code int, sig syscall.Signal) Result {
	if len(w.partial) > 0 {
		w.line(w.partial)
		w.partial = nil
	}
	r := Result{Code: code, Signal: sig}
	r.Crashed = sig != 0 || (w.dying && code != 0)
	r.OutOfMemory = r.Crashed && w.dying && diedForMemory(string(w.held))
	if !r.OutOfMemory {
		w.out.Write(w.held)
	}
	w.held = nil
	return r
}

// diedForMemory reports whether a Go program's dying words say that it was
// refused memory. Most of the Go runtime's allocations for itself check for
// failure and die saying "out of memory"; a few do not, and a refused one
// is then a nil pointer the runtime dereferences: a segmentation fault
// within the first page, in the runtime's own code. (A nil pointer in Go code
// outside the runtime is a panic, "panic: runtime error: invalid memory
// address".)
func diedForMemory(words string) bool {
	lower := strings.ToLower(words)
	for _, s := range outOfMemory {
		if strings.Contains(lower, s) {
			return true
		}
	}
	lines := strings.Split(words, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "SIGSEGV: ") {
		return false
	}
	m := faultAddr.FindStringSubmatch(lines[1])
	if m == nil {
		return false
	}
	if addr, err := strconv.ParseUint(m[1], 16, 64); err != nil || addr >= 4096 {
		return false
	}
	for i, l := range lines[:len(lines)-1] {
		if strings.HasPrefix(l, "goroutine ") {
			return strings.HasPrefix(lines[i+1], "runtime.")
		}
	}
	return false
}
