package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mosquittoPath is where the test looks for the broker (Debian's package).
const mosquittoPath = "/usr/sbin/mosquitto"

// needMosquitto skips the test without Mosquitto, or fails it when the
// environment variable CI asks for strict tests (as mqtttest does).
func needMosquitto(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(mosquittoPath); err == nil {
		return
	}
	if v, ok := os.LookupEnv("CI"); ok && v != "" {
		if b, err := strconv.ParseBool(v); err != nil || b {
			t.Fatalf("mosquitto is not installed (%s); CI must install it (apt-get install mosquitto)", mosquittoPath)
		}
	}
	t.Skipf("mosquitto is not installed (%s): skipping the cluster test", mosquittoPath)
}

// buildBinaries builds pio and pios into dir.
func buildBinaries(t *testing.T, dir string) (pio, pios string) {
	t.Helper()
	pio, pios = filepath.Join(dir, "pio"), filepath.Join(dir, "pios")
	for bin, pkg := range map[string]string{pio: "github.com/piolab/pio/cmd/pio", pios: "github.com/piolab/pio/cmd/pios"} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return pio, pios
}

// lab is the processes of one test, with their logs under dir.
type lab struct {
	t     *testing.T
	dir   string // logs
	mu    sync.Mutex
	procs []*proc
	logs  []string // every log file, in order of creation
}

func newLab(t *testing.T) *lab {
	l := &lab{t: t, dir: t.TempDir()}
	// Registered first, so that it runs last: after every process is gone.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, path := range l.logs {
			b, _ := os.ReadFile(path)
			t.Logf("==== %s (last 80 lines) ====\n%s", filepath.Base(path), tail(string(b), 80))
		}
	})
	return l
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logFile makes a new log file named after name.
func (l *lab) logFile(name string) (*os.File, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	path := filepath.Join(l.dir, fmt.Sprintf("%02d-%s.log", len(l.logs), name))
	f, err := os.Create(path)
	if err != nil {
		l.t.Fatal(err)
	}
	l.logs = append(l.logs, path)
	return f, path
}

// proc is a long-running process of the lab, in a process group of its own
// (pio daemon runs its work in a child: killing the group kills both, as a
// machine that dies would).
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// start starts a long-running process; the test's end kills its group.
func (l *lab) start(name string, env []string, bin string, args ...string) *proc {
	l.t.Helper()
	f, path := l.logFile(name)
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		l.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: path, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.done)
	}()
	l.t.Cleanup(func() { p.kill(l.t) })
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the process's group and waits for the process.
func (p *proc) kill(t *testing.T) {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s (pid %d) did not exit within 10 s of SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// stop sends SIGTERM to the process and waits for it to exit with status 0.
func (p *proc) stop(t *testing.T, within time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.exited() {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("%s (pid %d) did not exit within %v of SIGTERM", p.name, p.cmd.Process.Pid, within)
	}
	if !p.cmd.ProcessState.Success() {
		t.Fatalf("%s ended with %v after SIGTERM", p.name, p.cmd.ProcessState)
	}
}

// readLog returns what the process has written so far.
func (p *proc) readLog() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitLog waits until the process has written want.
func (p *proc) waitLog(t *testing.T, want string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out := p.readLog()
		if strings.Contains(out, want) {
			return out
		}
		if p.exited() {
			t.Fatalf("%s exited (%v) before it wrote %q", p.name, p.cmd.ProcessState, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not write %q within %v", p.name, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run runs a command to its end (bounded by within) and returns its output
// and exit status; the output also goes to the lab's logs.
func (l *lab) run(env []string, within time.Duration, bin string, args ...string) (stdout, stderr string, code int) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	line := filepath.Base(bin) + " " + strings.Join(args, " ")
	f, _ := l.logFile(filepath.Base(bin) + "-" + args[0])
	fmt.Fprintf(f, "$ %s\n%s%s(%v)\n", line, o.String(), e.String(), err)
	f.Close()
	if ctx.Err() != nil {
		l.t.Fatalf("%s did not end within %v: it hangs\nstdout: %s\nstderr: %s", line, within, o.String(), e.String())
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		l.t.Fatalf("%s: %v", line, err)
	}
	return o.String(), e.String(), code
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// env is the environment of a pio process with its own home and run dir;
// the test's own PIO_ variables are left out.
func env(home string) []string {
	var e []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PIO_") || strings.HasPrefix(kv, "EXPERIMENT=") {
			continue
		}
		e = append(e, kv)
	}
	return append(e, "PIO_HOME="+home, "PIO_RUN_DIR="+filepath.Join(home, "run"))
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond every 20 ms until it holds, and fails with what()
// once within has passed.
func eventually(t *testing.T, within time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
