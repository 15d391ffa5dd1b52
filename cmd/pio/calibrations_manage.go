package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/calibration"
)

func calibrationsListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the calibrations of every device, or of --device",
		Flags: []cli.Flag{&cli.StringFlag{Name: "device", Usage: "only this device, e.g. media_pump or od90"}},
		Action: func(c *cli.Context) error {
			st := store(c)
			devices := []string{c.String("device")}
			if devices[0] == "" {
				var err error
				if devices, err = st.Devices(); err != nil {
					return err
				}
			}
			w := c.App.Writer
			if len(devices) == 0 {
				fmt.Fprintf(w, "no calibrations in %s\n", st.Dir)
				return nil
			}
			fmt.Fprintf(w, "%-20s %-40s %-25s %-26s %s\n", "Device", "Name", "Type", "Created", "Active")
			for _, d := range devices {
				list, err := st.List(d)
				if err != nil {
					return err
				}
				for _, e := range list {
					active, typ, created := "", e.Type, ""
					if e.Active {
						active = "yes"
					}
					if e.Legacy {
						typ += " (earlier pio's JSON)"
					}
					if !e.CreatedAt.IsZero() {
						created = e.CreatedAt.Format(time.RFC3339)
					}
					if e.Err != nil {
						typ = "unreadable: " + e.Err.Error()
					}
					fmt.Fprintf(w, "%-20s %-40s %-25s %-26s %s\n", e.Device, e.Name, typ, created, active)
				}
			}
			return nil
		},
	}
}

func calibrationsDisplayCommand() *cli.Command {
	return &cli.Command{
		Name:  "display",
		Usage: "show one calibration: its curve, its recorded data, and the file as stored",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "device", Required: true, Usage: "e.g. media_pump"},
			&cli.StringFlag{Name: "name", Usage: "calibration name (default: the device's active one)"},
		},
		Action: func(c *cli.Context) error {
			st, device, name := store(c), c.String("device"), c.String("name")
			if name == "" {
				var err error
				if name, err = st.ActiveName(device); err != nil {
					return fmt.Errorf("%s has no active calibration: name one with --name (pio calibrations list --device %s)", device, device)
				}
			}
			w := c.App.Writer
			f, path, err := st.File(device, name)
			if err != nil {
				// An earlier pio's JSON calibration, read as a pump's.
				p, jerr := st.Pump(device, name)
				if jerr != nil {
					return err
				}
				b, merr := p.Marshal()
				if merr != nil {
					return merr
				}
				fmt.Fprintf(w, "%s/%s (an earlier pio's JSON calibration, shown as upstream's YAML; pio calibrations set-active --device %s --name %s migrates it)\n%s", device, name, device, name, b)
				return nil
			}
			active := ""
			if a, err := st.ActiveName(device); err == nil && a == name {
				active = " (active)"
			}
			fmt.Fprintf(w, "%s/%s%s: %s, %s\n", device, name, active, f.Type, path)
			if poly, err := f.Poly(); err == nil {
				y, x := f.Y, f.X
				if y == "" {
					y = "y"
				}
				if x == "" {
					x = "x"
				}
				fmt.Fprintf(w, "%s = %s, x = %s\n", y, curveText(poly), x)
			} else {
				fmt.Fprintf(w, "curve: %v\n", err)
			}
			if f.Type == calibration.PumpType {
				if _, err := f.Pump(device); err != nil {
					fmt.Fprintf(w, "not usable as a pump calibration: %v\n", err)
				}
			}
			if n := len(f.Recorded.X); n > 0 {
				fmt.Fprintf(w, "recorded (%d points):\n", n)
				for i := range f.Recorded.X {
					fmt.Fprintf(w, "  %12.6g  %12.6g\n", f.Recorded.X[i], f.Recorded.Y[i])
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "---\n%s", b)
			return nil
		},
	}
}

// curveText writes a polynomial as an equation in x: 0.5·x + 0.1.
func curveText(p calibration.Poly) string {
	var terms []string
	n := len(p) - 1
	for i, c := range p {
		if c == 0 && n > 0 {
			continue
		}
		t := strconv.FormatFloat(c, 'g', 6, 64)
		switch deg := n - i; deg {
		case 0:
		case 1:
			t += "·x"
		default:
			t += "·x^" + strconv.Itoa(deg)
		}
		terms = append(terms, t)
	}
	if len(terms) == 0 {
		return "0"
	}
	return strings.ReplaceAll(strings.Join(terms, " + "), "+ -", "- ")
}

func calibrationsSetActiveCommand() *cli.Command {
	return &cli.Command{
		Name:  "set-active",
		Usage: "make a calibration the device's active one (without --name: the device has none active)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "device", Required: true, Usage: "e.g. media_pump"},
			&cli.StringFlag{Name: "name", Usage: "calibration name; none clears the device's active calibration"},
		},
		Action: func(c *cli.Context) error {
			device, name := c.String("device"), c.String("name")
			if err := store(c).SetActive(device, name); err != nil {
				return err
			}
			if name == "" {
				fmt.Fprintf(c.App.Writer, "%s has no active calibration now\n", device)
			} else {
				fmt.Fprintf(c.App.Writer, "%s/%s is active\n", device, name)
			}
			return nil
		},
	}
}

func calibrationsDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:  "delete",
		Usage: "delete a calibration (if it was active, the device has none active after it)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "device", Required: true, Usage: "e.g. media_pump"},
			&cli.StringFlag{Name: "name", Required: true, Usage: "calibration name"},
		},
		Action: func(c *cli.Context) error {
			device, name := c.String("device"), c.String("name")
			if err := store(c).Delete(device, name); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "deleted %s/%s\n", device, name)
			return nil
		},
	}
}
