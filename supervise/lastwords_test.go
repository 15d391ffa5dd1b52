package supervise

import (
	"strings"
	"syscall"
	"testing"
)

// Dying words of a Go child under RLIMIT_DATA, as seen when a script asked
// for a 1 GB string or doubled one past the budget (cut after their first
// frame).
var (
	sysMapRefused = "fatal error: runtime: out of memory\n\nruntime stack:\nruntime.throw({0xac4858?, 0x500000000000000?})\n"
	arenaMetadata = "fatal error: out of memory allocating heap arena metadata\n\nruntime stack:\nruntime.throw({0xad80ac?, 0x4000000?})\n"
	mmapENOMEM    = "fatal error: runtime: cannot allocate memory\n\nruntime stack:\nruntime.throw({0xadfb82?, 0x0?})\n"
	threadStack   = "runtime/cgo: pthread_create failed: Resource temporarily unavailable\nSIGABRT: abort\nPC=0x7fa11b0fceec m=5 sigcode=18446744073709551610\n\ngoroutine 0 gp=0x292f09ac2000 m=5 mp=0x292f09ab8008 [idle]:\n"
	raceRuntime   = "==18743==ERROR: ThreadSanitizer failed to allocate 0x80000000 (2147483648) bytes at address 218008000000 (errno: 12)\n"
	// The Go runtime (1.26) does not check the GC span queue it maps for
	// itself: refused, it is a nil pointer.
	uncheckedAlloc = "SIGSEGV: segmentation violation\nPC=0x4394dd m=8 sigcode=1 addr=0x0\n\ngoroutine 0 gp=0x2ae12dacad20 m=8 mp=0x2ae12dac1808 [idle]:\nruntime.(*spanQueue).tryDrain(0x7fbc00000400?, 0x441d25?, 0x10031e8?)\n"
)

func TestDyingWordsForMemory(t *testing.T) {
	for _, words := range []string{sysMapRefused, arenaMetadata, mmapENOMEM, threadStack, raceRuntime, uncheckedAlloc} {
		var shown strings.Builder
		w := &lastWords{out: &shown}
		w.Write([]byte("a line before\n"))
		w.Write([]byte(words + "goroutine 1 gp=0x1 m=nil [select]:\nmain.main()\n"))
		r := w.end(2, 0)
		if !r.OutOfMemory || !r.Crashed {
			t.Errorf("%q: %+v, want out of memory", firstLine(words), r)
		}
		if shown.String() != "a line before\n" {
			t.Errorf("%q: shown %q, want only the line before the dying words", firstLine(words), shown.String())
		}
	}
}

func TestDyingWordsForSomethingElse(t *testing.T) {
	for _, tc := range []struct {
		name, words string
		code        int
		sig         syscall.Signal
		crashed     bool
	}{
		{"a panic", "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4c1d2e]\n\ngoroutine 1 [running]:\nmain.main()\n", 2, 0, true},
		{"a fault in code outside the runtime", "SIGSEGV: segmentation violation\nPC=0x7f1 m=0 sigcode=1 addr=0x0\nsignal arrived during cgo execution\n\ngoroutine 1 gp=0x1 m=0 mp=0x2 [syscall]:\nnet._C2func_getaddrinfo(0x1)\n", 2, 0, true},
		{"a fault far from nil", "SIGSEGV: segmentation violation\nPC=0x4394dd m=8 sigcode=1 addr=0xdead0000\n\ngoroutine 0 gp=0x1 m=8 mp=0x2 [idle]:\nruntime.(*spanQueue).tryDrain(0x1)\n", 2, 0, true},
		{"Ctrl-\\", "SIGQUIT: quit\nPC=0x46e501 m=0 sigcode=0\n\ngoroutine 0 gp=0x1 m=0 mp=0x2 [idle]:\nruntime.futex(0x1)\n", 2, 0, true},
		{"a runtime note in a process that went on", "runtime: note\n", 0, 0, false},
		{"SIGKILL", "", -1, syscall.SIGKILL, true},
	} {
		var shown strings.Builder
		w := &lastWords{out: &shown}
		w.Write([]byte(tc.words))
		r := w.end(tc.code, tc.sig)
		if r.OutOfMemory || r.Crashed != tc.crashed || r.Code != tc.code || r.Signal != tc.sig {
			t.Errorf("%s: %+v", tc.name, r)
		}
		if shown.String() != tc.words {
			t.Errorf("%s: shown %q, want all of %q", tc.name, shown.String(), tc.words)
		}
	}
}

// Lines reach the log whole, however the pipe splits them, and an unfinished
// last line is shown at the end.
func TestLinesPassThrough(t *testing.T) {
	var shown strings.Builder
	w := &lastWords{out: &shown}
	for _, chunk := range []string{"one ", "line\ntwo", " lines\nand a ", "half"} {
		w.Write([]byte(chunk))
	}
	if shown.String() != "one line\ntwo lines\n" {
		t.Errorf("shown %q before the end", shown.String())
	}
	if r := w.end(0, 0); r.Crashed || shown.String() != "one line\ntwo lines\nand a half" {
		t.Errorf("%+v, shown %q", r, shown.String())
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
