package hat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/piolab/pio/hw"
)

// The exit paths of a process that holds outputs, against the fakes: a child
// process (this test binary run again) opens a PWM controller on a fake
// kernel PWM class and on GPIO lines whose level it mirrors to files, starts
// a dose and stirring, and is then stopped by a signal, killed, or crashed by
// a panic. The parent reads the outputs the child left behind.

// exitChildEnv carries the child's mode; exitDirEnv its directory.
const (
	exitChildEnv = "PIO_HAT_EXIT_CHILD"
	exitDirEnv   = "PIO_HAT_EXIT_DIR"
)

// The child's outputs: the media pump on channel 2 (GPIO13, the kernel's
// pwm1) and the stirrer on channel 1 (GPIO17, software).
var exitPins = map[int]int{1: 17, 2: 13}

const (
	exitPumpPeriod = "4000000" // ns, at PumpHz
	exitPumpDuty   = "4000000" // 100 %
)

// filePin is a gpiotest pin that mirrors every level written to it into a
// file ("H" or "L"), so the level a process left is there after it died.
type filePin struct {
	*gpiotest.Pin
	f *os.File
}

func openFilePin(dir string, n int) (*filePin, error) {
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("GPIO%d.level", n)), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &filePin{Pin: &gpiotest.Pin{N: fmt.Sprintf("GPIO%d", n), Num: n}, f: f}, nil
}

func (p *filePin) Out(l gpio.Level) error {
	b := []byte("L")
	if l == gpio.High {
		b = []byte("H")
	}
	if _, err := p.f.WriteAt(b, 0); err != nil {
		return err
	}
	return p.Pin.Out(l)
}

// exitDirs are the child's fake kernel PWM class, run directory (pin locks)
// and pin level files, under one directory.
type exitDirs struct{ root string }

func (d exitDirs) sysfs() string { return filepath.Join(d.root, "sys") }
func (d exitDirs) run() string   { return filepath.Join(d.root, "run") }
func (d exitDirs) pins() string  { return filepath.Join(d.root, "pins") }

// newExitDirs makes the fake PWM class with pwm0 and pwm1 exported and
// disabled, as the OS image leaves them at boot.
func newExitDirs(t *testing.T) exitDirs {
	t.Helper()
	fs := newFakeSysfs(t, 0)
	fs.channel(0, 0, "0", 0, 0)
	fs.channel(0, 1, "0", 0, 0)
	d := exitDirs{root: t.TempDir()}
	if err := os.Rename(fs.root, d.sysfs()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(d.pins(), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d exitDirs) read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// newExitController is the controller of the child and of the process after
// it, on d.
func newExitController(d exitDirs) (*PWMController, error) {
	return NewPWMController(PWMConfig{
		Pins: exitPins,
		OpenPin: func(n int) (gpio.PinOut, error) {
			return openFilePin(d.pins(), n)
		},
		Sysfs:  &Sysfs{Root: d.sysfs(), Chip: 0},
		RunDir: d.run(),
	})
}

// TestExitPathChild is the child process; it does nothing in a normal run.
// It opens the outputs, says "dosing" on stdout, then waits for SIGTERM or
// SIGINT and halts (mode "signal"), or panics in a goroutine (mode "panic").
func TestExitPathChild(t *testing.T) {
	mode := os.Getenv(exitChildEnv)
	if mode == "" {
		t.Skip("the child process of TestExitPath*")
	}
	os.Exit(exitChild(mode, exitDirs{root: os.Getenv(exitDirEnv)}))
}

func exitChild(mode string, d exitDirs) int {
	// As pio's commands: a context that ends on Ctrl-C and SIGTERM.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctl, err := newExitController(d)
	if err != nil {
		fmt.Println("controller:", err)
		return 3
	}
	defer ctl.Close()
	defer ctl.HaltAll()
	stirrer, err := ctl.Open(1, StirringHz)
	if err == nil {
		err = stirrer.SetDuty(50)
	}
	if err != nil {
		fmt.Println("stirrer:", err)
		return 3
	}
	pump, err := ctl.Open(2, PumpHz)
	if err != nil {
		fmt.Println("pump:", err)
		return 3
	}
	// A dose that lasts until the signal.
	if err := pump.SetDuty(100); err != nil {
		fmt.Println("pump:", err)
		return 3
	}
	fmt.Println("dosing")
	if mode == "panic" {
		go func() { panic("a job's goroutine panics mid-dose") }()
	}
	<-ctx.Done()
	// The return runs the defers, as a job's Run and a command's main do.
	fmt.Println("stopped")
	return 0
}

// startExitChild runs the child in mode and waits until it doses.
func startExitChild(t *testing.T, mode string, d exitDirs) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestExitPathChild$", "-test.count=1")
	// Under -race the child would wait a second before exiting.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), exitChildEnv+"="+mode, exitDirEnv+"="+d.root, "GORACE="+race)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &strings.Builder{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "dosing" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not start dosing: %q; stderr:\n%s", lines.Text(), cmd.Stderr)
	}
	return cmd, lines
}

// wantDosing checks what the child set up: the pump's kernel channel on at
// 100 %, the pins locked by the child.
func wantDosing(t *testing.T, d exitDirs, child int) {
	t.Helper()
	if e, duty := d.read(t, "sys/pwmchip0/pwm1/enable"), d.read(t, "sys/pwmchip0/pwm1/duty_cycle"); e != "1" || duty != exitPumpDuty {
		t.Fatalf("while dosing: pwm1 enable %s duty_cycle %s; want 1, %s", e, duty, exitPumpDuty)
	}
	_, err := NewPinLocks(d.run()).Acquire(13, "the test")
	if !errors.Is(err, hw.ErrBusy) || !strings.Contains(err.Error(), fmt.Sprintf("PWM channel 2 (pid %d)", child)) {
		t.Fatalf("GPIO13 while the child doses: %v; want busy, held by the child", err)
	}
}

// wantOff checks that the pump's kernel channel is off and the stirrer's
// line low.
func wantOff(t *testing.T, d exitDirs, when string) {
	t.Helper()
	if e, duty := d.read(t, "sys/pwmchip0/pwm1/enable"), d.read(t, "sys/pwmchip0/pwm1/duty_cycle"); e != "0" || duty != "0" {
		t.Errorf("%s: pwm1 enable %s duty_cycle %s; want 0, 0", when, e, duty)
	}
	if l := d.read(t, "pins/GPIO17.level"); l != "L" {
		t.Errorf("%s: GPIO17 (stirrer) is %s; want L", when, l)
	}
}

// wantLocksFree checks that this process can take both pins at once.
func wantLocksFree(t *testing.T, d exitDirs, when string) {
	t.Helper()
	locks := NewPinLocks(d.run())
	for _, pin := range []int{13, 17} {
		release, err := locks.Acquire(pin, "the test")
		if err != nil {
			t.Errorf("%s: GPIO%d: %v; want the lock free", when, pin, err)
			continue
		}
		release()
	}
}

func TestExitPathSignalHaltsOutputs(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			d := newExitDirs(t)
			cmd, lines := startExitChild(t, "signal", d)
			wantDosing(t, d, cmd.Process.Pid)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			lines.Scan()
			if err := cmd.Wait(); err != nil || lines.Text() != "stopped" {
				t.Fatalf("child after %s: %v, said %q; stderr:\n%s", sig, err, lines.Text(), cmd.Stderr)
			}
			wantOff(t, d, "after "+sig.String())
			if p := d.read(t, "sys/pwmchip0/pwm1/period"); p != exitPumpPeriod {
				t.Errorf("pwm1 period %s, want %s (Close does not unexport or reset it)", p, exitPumpPeriod)
			}
			wantLocksFree(t, d, "after "+sig.String())
			for _, pin := range []int{13, 17} {
				if b, err := os.ReadFile(NewPinLocks(d.run()).Path(pin)); err != nil || len(b) != 0 {
					t.Errorf("GPIO%d lock file after a clean exit: %q, %v; want empty", pin, b, err)
				}
			}
		})
	}
}

// A process that dies without running its defers (SIGKILL; a panic in a
// goroutine other than the one with the defers) leaves the kernel channel
// pumping. The kernel drops its flocks at once; the next controller on the
// unit disables the channel, reports it, and drives the software pin low.
func TestExitPathDeathLeavesChannelForNextStart(t *testing.T) {
	for _, mode := range []string{"kill", "panic"} {
		t.Run(mode, func(t *testing.T) {
			d := newExitDirs(t)
			cmd, _ := startExitChild(t, map[string]string{"kill": "signal", "panic": "panic"}[mode], d)
			if mode == "kill" {
				wantDosing(t, d, cmd.Process.Pid)
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("child: %v; want it to die", err)
			}
			if mode == "panic" && (exit.ExitCode() != 2 || !strings.Contains(fmt.Sprint(cmd.Stderr), "panics mid-dose")) {
				t.Fatalf("child: %v; want the panic's exit status 2; stderr:\n%s", err, cmd.Stderr)
			}
			// What the dead process left: the pump still pumping.
			if e, duty := d.read(t, "sys/pwmchip0/pwm1/enable"), d.read(t, "sys/pwmchip0/pwm1/duty_cycle"); e != "1" || duty != exitPumpDuty {
				t.Fatalf("after the death: pwm1 enable %s duty_cycle %s; want 1, %s (left running)", e, duty, exitPumpDuty)
			}
			wantLocksFree(t, d, "at once after the death")

			ctl, err := newExitController(d)
			if err != nil {
				t.Fatal(err)
			}
			defer ctl.Close()
			stale := ctl.Stale()
			if len(stale) != 1 || stale[0] != (StaleChannel{Chip: 0, Index: 1, PeriodNS: 4000000, DutyNS: 4000000}) {
				t.Fatalf("Stale() = %v; want pwm1 at 100 %% of 4000000 ns", stale)
			}
			if s := stale[0].String(); s != "pwmchip0/pwm1 (left enabled at 100 % of 4000000 ns)" {
				t.Errorf("stale channel reported as %q", s)
			}
			wantOff(t, d, "after the next start")
			pump, err := ctl.Open(2, PumpHz)
			if err != nil {
				t.Fatalf("the pump's channel after the next start: %v", err)
			}
			if err := pump.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// exitBoard is a HAT 1.0 board (DAC43608 LEDs at 0x49) on a fake kernel PWM
// class with pwm0 and pwm1 exported, its bus replaying ops.
func exitBoard(t *testing.T, ops []i2ctest.IO) (*testBoard, *fakeSysfs) {
	t.Helper()
	fs := newFakeSysfs(t, 0)
	fs.channel(0, 0, "0", 0, 0)
	fs.channel(0, 1, "0", 0, 0)
	b := newTestBoard(t, 1, 0, "", "", fs.root, ops)
	return b, fs
}

// dacOps are the DAC43608's transfers: the probe, LED A to 50 % from all
// off, then halts.
func dacOps(halts int) []i2ctest.IO {
	ops := []i2ctest.IO{
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}), // probe
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}), // A to 50 %
		io(0x49, []byte{0x01, 0x00, 0xFE}, nil),
		io(0x49, []byte{0x08, 0x08, 0x00}, nil),
	}
	state := byte(0xFE)
	for range halts {
		ops = append(ops, io(0x49, []byte{0x01}, []byte{0x00, state}), io(0x49, []byte{0x01, 0x00, 0xFF}, nil))
		state = 0xFF
	}
	return ops
}

// boardOutputs opens what a dosing job and an OD job hold on b: the media
// pump (channel 2, kernel pwm1) and the alt-media pump (channel 3, GPIO16 in
// software) at 100 %, and LED A at 50 %.
func boardOutputs(t *testing.T, b *testBoard) (media, alt hw.PWM, leds hw.LEDs) {
	t.Helper()
	var err error
	if media, err = b.PWM().Open(2, PumpHz); err != nil {
		t.Fatal(err)
	}
	if alt, err = b.PWM().Open(3, PumpHz); err != nil {
		t.Fatal(err)
	}
	for _, p := range []hw.PWM{media, alt} {
		if err := p.SetDuty(100); err != nil {
			t.Fatal(err)
		}
	}
	if leds, err = b.LEDs(); err != nil {
		t.Fatal(err)
	}
	if err := leds.SetIntensity("A", 50); err != nil {
		t.Fatal(err)
	}
	return media, alt, leds
}

// A panic in the goroutine that holds the outputs runs its deferred HaltAll:
// pumps off, LEDs off, before the panic goes on.
func TestExitPathPanicRunsDeferredHaltAll(t *testing.T) {
	b, fs := exitBoard(t, dacOps(2)) // HaltAll in the defer, then Close
	var leds hw.LEDs
	recovered := func() (p any) {
		defer func() { p = recover() }()
		defer b.HaltAll()
		_, _, leds = boardOutputs(t, b)
		if fs.read("pwmchip0/pwm1/enable") != "1" || b.pin(16).Read() != gpio.High {
			t.Fatal("the pumps are not on before the panic")
		}
		panic("a bug mid-dose")
	}()
	if recovered != "a bug mid-dose" {
		t.Fatalf("recovered %v", recovered)
	}
	if e, d := fs.read("pwmchip0/pwm1/enable"), fs.read("pwmchip0/pwm1/duty_cycle"); e != "0" || d != "0" {
		t.Errorf("media pump after the panic: enable %s duty_cycle %s; want 0, 0", e, d)
	}
	if b.pin(16).Read() != gpio.Low {
		t.Error("alt-media pump's GPIO16 high after the panic")
	}
	if leds.Intensity("A") != 0 {
		t.Errorf("LED A at %g %% after the panic", leds.Intensity("A"))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// An I²C error on the LED driver mid-dose is an error that names the chip,
// after upstream's retries; the pumps run on untouched; HaltAll then stops
// the pumps although the LEDs cannot be reached, and says so.
func TestExitPathI2CErrorMidDose(t *testing.T) {
	b, fs := exitBoard(t, dacOps(0))
	media, alt, leds := boardOutputs(t, b)
	b.bus.absent[0x49] = true // the DAC stops acknowledging

	err := leds.SetIntensity("B", 20)
	wantErrContains(t, err, "DAC43608 at 0x49 on I2C1", "LED B to 20%", "failed 4 times")
	if !errors.Is(err, syscall.EREMOTEIO) {
		t.Errorf("%v does not wrap EREMOTEIO", err)
	}
	if leds.Intensity("A") != 50 || leds.Intensity("B") != 0 {
		t.Errorf("LEDs A, B = %g, %g; want 50, 0 (unchanged)", leds.Intensity("A"), leds.Intensity("B"))
	}
	if media.Duty() != 100 || fs.read("pwmchip0/pwm1/enable") != "1" || fs.read("pwmchip0/pwm1/duty_cycle") != exitPumpDuty {
		t.Error("the LED error touched the media pump")
	}
	if alt.Duty() != 100 || b.pin(16).Read() != gpio.High {
		t.Error("the LED error touched the alt-media pump")
	}

	err = b.HaltAll()
	wantErrContains(t, err, "DAC43608 at 0x49 on I2C1: halt: read of DEVICE_CONFIG")
	if e, d := fs.read("pwmchip0/pwm1/enable"), fs.read("pwmchip0/pwm1/duty_cycle"); e != "0" || d != "0" {
		t.Errorf("media pump after HaltAll with the LEDs unreachable: enable %s duty_cycle %s", e, d)
	}
	if b.pin(16).Read() != gpio.Low {
		t.Error("alt-media pump on after HaltAll with the LEDs unreachable")
	}
	if err := b.Close(); err == nil {
		t.Error("Close with the LEDs unreachable: no error")
	}
}
