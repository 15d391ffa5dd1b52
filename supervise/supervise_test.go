package supervise

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
)

// envRole makes the test binary, started by Run, a child that plays a role
// instead of running the tests.
const envRole = "SUPERVISE_TEST_ROLE"

func TestMain(m *testing.M) {
	if role, ok := os.LookupEnv(envRole); ok {
		log, child, err := Child()
		if !child || err != nil {
			fmt.Fprintf(os.Stderr, "the test child is not bounded: child %v, %v\n", child, err)
			os.Exit(100)
		}
		os.Exit(play(role, log))
	}
	os.Exit(m.Run())
}

// sink keeps allocations alive.
var sink []byte

// play is what a child does in a test.
func play(role string, log *os.File) int {
	switch role {
	case "exit 7":
		fmt.Fprintln(log, "a log line")
		fmt.Fprintln(os.Stderr, "a line on fd 2")
		return 7
	case "1 GB":
		sink = make([]byte, 1<<30)
		for i := range sink {
			sink[i] = 1
		}
		return 0
	case "doubling":
		sink = []byte("ab")
		for {
			sink = append(sink, sink...)
		}
	case "panic":
		panic("a bug")
	case "wait for SIGTERM":
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM)
		fmt.Println("ready")
		<-stop
		fmt.Fprintln(log, "stopped cleanly")
		return 0
	case "limits":
		var as, stack syscall.Rlimit
		syscall.Getrlimit(syscall.RLIMIT_AS, &as)
		syscall.Getrlimit(syscall.RLIMIT_STACK, &stack)
		size, _ := addressSpace()
		fmt.Printf("as %d %d size %d stack %d\n", as.Cur, as.Max, size, stack.Cur)
		return 0
	}
	return 101
}

// child runs the test binary as a child playing role under budget, with its
// standard output and log in files. It returns the result, the output and
// the log.
func child(t *testing.T, role string, budget uint64) (Result, string, string) {
	t.Helper()
	t.Setenv(envRole, role)
	dir := t.TempDir()
	stdout, err := os.Create(dir + "/stdout")
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(dir + "/log")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(Options{Args: []string{os.Args[0]}, Budget: budget, Stdout: stdout, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	log.Close()
	out, _ := os.ReadFile(dir + "/stdout")
	logged, _ := os.ReadFile(dir + "/log")
	return r, string(out), string(logged)
}

// An allocation past the budget is refused by the kernel before it is
// touched: the child dies, its peak resident memory stays below twice the
// budget, and its dying words are not shown.
func TestAllocationPastTheBudgetNeverHappens(t *testing.T) {
	if !Supported {
		t.Skip("needs Linux")
	}
	const budget = 64 << 20
	for _, role := range []string{"1 GB", "doubling"} {
		t.Run(role, func(t *testing.T) {
			r, _, log := child(t, role, budget)
			if !r.OutOfMemory || !r.Crashed || r.Code != 2 && !raceEnabled {
				t.Errorf("result %+v, want out of memory (exit status 2)\n%.2000s", r, log)
			}
			if r.MaxRSS == 0 || r.MaxRSS >= 2*budget && !raceEnabled {
				t.Errorf("the child's peak RSS was %d MB, want less than %d MB", r.MaxRSS>>20, 2*budget>>20)
			}
			if log != "" {
				t.Errorf("the dying words were shown:\n%.2000s", log)
			}
		})
	}
}

func TestChildIsBounded(t *testing.T) {
	if !Supported {
		t.Skip("needs Linux")
	}
	var before syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_STACK, &before)
	const budget = 100 << 20
	r, out, log := child(t, "limits", budget)
	if r.Code != 0 || r.Crashed {
		t.Fatalf("%+v\n%s", r, log)
	}
	var asCur, asMax, size, stack uint64
	if _, err := fmt.Sscanf(out, "as %d %d size %d stack %d", &asCur, &asMax, &size, &stack); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	// The limit is the address space the child had when it set it, plus the
	// budget and a heap arena.
	if asCur != asMax || asCur < size || asCur > size+budget+heapArena() {
		t.Errorf("RLIMIT_AS %d/%d with %d mapped, want what was mapped at start + %d + %d", asCur, asMax, size, budget, heapArena())
	}
	if before.Cur > childThreadStack && stack != childThreadStack {
		t.Errorf("the child's RLIMIT_STACK is %d, want %d", stack, childThreadStack)
	}
	var after syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_STACK, &after)
	if after != before {
		t.Errorf("this process's RLIMIT_STACK is %+v after Run, was %+v", after, before)
	}
}

func TestExitStatusAndLogsPassThrough(t *testing.T) {
	if !Supported {
		t.Skip("needs Linux")
	}
	r, _, log := child(t, "exit 7", 64<<20)
	if r.Code != 7 || r.Crashed || r.OutOfMemory {
		t.Errorf("result %+v, want exit status 7", r)
	}
	if log != "a log line\na line on fd 2\n" && log != "a line on fd 2\na log line\n" {
		t.Errorf("log %q", log)
	}
}

// A panic is a crash, not a lack of memory: its words are shown.
func TestPanicIsShown(t *testing.T) {
	if !Supported {
		t.Skip("needs Linux")
	}
	r, _, log := child(t, "panic", 64<<20)
	if !r.Crashed || r.OutOfMemory || r.Code != 2 {
		t.Errorf("result %+v, want a crash that is not out of memory", r)
	}
	if !strings.HasPrefix(log, "panic: a bug") || !strings.Contains(log, "goroutine ") {
		t.Errorf("log %q, want the panic and its goroutines", log)
	}
}

// SIGTERM sent to the parent reaches the child, which stops as it chooses.
func TestSignalsAreForwarded(t *testing.T) {
	if !Supported {
		t.Skip("needs Linux")
	}
	t.Setenv(envRole, "wait for SIGTERM")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	log, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	type ran struct {
		r   Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		r, err := Run(Options{Args: []string{os.Args[0]}, Budget: 64 << 20, Stdout: pw, Log: log})
		pw.Close()
		done <- ran{r, err}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	// Run forwards SIGTERM from before it starts the child until it ends.
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	res := <-done
	if res.err != nil || res.r.Code != 0 || res.r.Crashed {
		t.Errorf("%+v, %v", res.r, res.err)
	}
	if b, _ := os.ReadFile(log.Name()); string(b) != "stopped cleanly\n" {
		t.Errorf("log %q", b)
	}
}
