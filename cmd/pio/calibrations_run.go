package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/unit"
)

// MaxCalibrationRunSeconds bounds one run of the duration-based protocol:
// a run is a dose, and a minute of a stock pump moves a vial or more.
const MaxCalibrationRunSeconds = 120

func calibrationsRunCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "calibrate a pump at the terminal: run it for set times, type the volumes, fit a line, save it",
		Description: "Upstream's duration-based protocol: for each of --durations the pump runs that many seconds\n" +
			"at --hz and --dc; you weigh what moved (1 g of water is 1 mL) and type it. pio fits\n" +
			"volume = slope·seconds + intercept by least squares, shows the fit, and (after you confirm, or\n" +
			"with -y) saves it in upstream's YAML format and makes it the device's active calibration.\n" +
			"Prime the tubing first (pio run add_media --duration 20). The runs are dosing events with\n" +
			"source_of_event pump_calibration, which the liquid model leaves out.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "device", Required: true, Usage: "media_pump, alt_media_pump, waste_pump or <name>_pump"},
			&cli.StringFlag{Name: "durations", Value: "5,10,15,20", Usage: "seconds of each run, comma-separated (two or more distinct)"},
			&cli.Float64Flag{Name: "hz", Value: 250, Usage: "PWM frequency to calibrate at"},
			&cli.Float64Flag{Name: "dc", Value: 100, Usage: "PWM duty cycle to calibrate at, percent"},
			&cli.StringFlag{Name: "name", Usage: "calibration name (default: <device>-<date>)"},
			&cli.BoolFlag{Name: "y", Usage: "save without asking"},
		}, globalFlagsAfterCommand()...),
		Action: runPumpCalibration,
	}
}

// runPumpCalibration walks the user through the duration-based protocol.
func runPumpCalibration(c *cli.Context) error {
	device := c.String("device")
	pumpDevice, isPump := strings.CutSuffix(device, "_pump")
	if err := calibration.CheckDevice(device); err != nil {
		return err
	}
	if !isPump || pumpDevice == "" {
		return fmt.Errorf("--device %s: a pump's device ends in _pump (media_pump, alt_media_pump, waste_pump, <name>_pump)", device)
	}
	durations, err := parseDurations(c.String("durations"))
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	cal := calibration.Pump{Name: c.String("name"), Device: device, Hz: c.Float64("hz"), DC: c.Float64("dc"), CreatedAt: now, Voltage: -1}
	if cal.Name == "" {
		cal.Name = device + "-" + now.Format("2006-01-02T15-04-05")
	}
	if err := calibration.CheckName(cal.Name); err != nil {
		return err
	}
	// The runs use upstream's placeholder rate at the hz and dc being
	// calibrated: only their durations matter.
	provisional := calibration.DefaultPump(device)
	provisional.Name, provisional.Hz, provisional.DC, provisional.Default = "provisional", cal.Hz, cal.DC, false
	if err := provisional.Validate(); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "pio-calibration")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := (calibration.Store{Dir: tmp}).Save(provisional); err != nil {
		return err
	}

	m, err := unit.Open(unitOptions(appContext(c), localGlobalFlags(c)))
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.EnsureMonitor(); err != nil {
		return err
	}
	m.Env.Calibrations = calibration.Store{Dir: tmp}
	cal.Unit = m.Env.Unit

	w, in := c.App.Writer, bufio.NewScanner(c.App.Reader)
	fmt.Fprintf(w, "Calibrating %s at %v Hz, %v%% duty cycle: %d runs of %s s.\n", device, cal.Hz, cal.DC, len(durations), c.String("durations"))
	fmt.Fprintf(w, "Before each run, put the outflow tube in a container on a scale and tare it. Prime the tubing first.\n")
	for i, d := range durations {
		fmt.Fprintf(w, "Run %d of %d: press Enter to run %s for %v s (q to stop): ", i+1, len(durations), device, d)
		line, ok := readLine(in)
		switch {
		case !ok:
			return fmt.Errorf("input ended before run %d; nothing saved", i+1)
		case strings.EqualFold(line, "q"):
			return fmt.Errorf("stopped before run %d; nothing saved", i+1)
		}
		seconds := d
		p, err := runtime.StartPumpAction(m.Env, runtime.PumpRequest{Device: pumpDevice, Duration: &seconds, SourceOfEvent: liquid.PumpCalibrationEvent})
		if err != nil {
			return err
		}
		if err := m.RunJob(c.Context, p); err != nil {
			return err
		}
		if err := c.Context.Err(); err != nil {
			return fmt.Errorf("run %d stopped: %w; nothing saved", i+1, err)
		}
		ml, err := askVolume(w, in, i+1)
		if err != nil {
			return err
		}
		cal.RecordedX = append(cal.RecordedX, d)
		cal.RecordedY = append(cal.RecordedY, ml)
	}
	fit, err := calibration.FitLine(cal.RecordedX, cal.RecordedY)
	if err != nil {
		return err
	}
	cal.Slope, cal.Intercept = fit.Slope, fit.Intercept
	fmt.Fprintf(w, "Fit: volume = %.4f mL/s · seconds %+.4f mL (R² %.4f over %d runs)\n", fit.Slope, fit.Intercept, fit.R2, len(durations))
	for i := range cal.RecordedX {
		fmt.Fprintf(w, "  %8.3f s  measured %8.4f mL  fitted %8.4f mL\n", cal.RecordedX[i], cal.RecordedY[i], cal.DurationToML(cal.RecordedX[i]))
	}
	if fit.R2 < 0.95 {
		fmt.Fprintf(w, "The runs are far from a line (R² %.4f below 0.95): check the tubing and the scale, and consider running again.\n", fit.R2)
	}
	if err := cal.Validate(); err != nil {
		return fmt.Errorf("%w; nothing saved", err)
	}
	if !c.Bool("y") {
		fmt.Fprintf(w, "Save as %s and make it active? [Y/n] ", cal.Name)
		line, ok := readLine(in)
		switch {
		case !ok:
			return fmt.Errorf("input ended before the answer; nothing saved")
		case line != "" && !strings.EqualFold(line, "y") && !strings.EqualFold(line, "yes"):
			fmt.Fprintln(w, "Not saved.")
			return nil
		}
	}
	st := store(c)
	if err := st.Save(cal); err != nil {
		return err
	}
	fmt.Fprintf(w, "Saved %s/%s in %s and made it active.\n", device, cal.Name, st.Dir)
	return nil
}

// parseDurations reads --durations: positive seconds up to
// MaxCalibrationRunSeconds, two or more distinct.
func parseDurations(s string) ([]float64, error) {
	var ds []float64
	distinct := map[float64]bool{}
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(d > 0 && d <= MaxCalibrationRunSeconds) {
			return nil, fmt.Errorf("--durations %s: %q is not a number of seconds above 0 and at most %d", s, strings.TrimSpace(f), MaxCalibrationRunSeconds)
		}
		ds = append(ds, d)
		distinct[d] = true
	}
	if len(distinct) < 2 {
		return nil, fmt.Errorf("--durations %s: a line needs two or more distinct durations", s)
	}
	return ds, nil
}

// askVolume prompts for the volume a run moved until it gets a number of
// mL, zero or more.
func askVolume(w io.Writer, in *bufio.Scanner, run int) (float64, error) {
	for {
		fmt.Fprintf(w, "mL moved in run %d (grams of water): ", run)
		line, ok := readLine(in)
		if !ok {
			return 0, fmt.Errorf("input ended before run %d's volume; nothing saved", run)
		}
		v, err := strconv.ParseFloat(line, 64)
		if err == nil && v >= 0 && !math.IsInf(v, 0) {
			return v, nil
		}
		fmt.Fprintf(w, "%q is not a volume: type the mL (or g of water) moved, e.g. 2.51\n", line)
	}
}

// readLine reads one trimmed line; ok is false at the end of the input.
func readLine(in *bufio.Scanner) (string, bool) {
	if !in.Scan() {
		return "", false
	}
	return strings.TrimSpace(in.Text()), true
}
