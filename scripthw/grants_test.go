package scripthw

import (
	"strings"
	"testing"

	"github.com/piolab/pio/config"
)

func TestGrantsDefaultToNothing(t *testing.T) {
	g, err := ReadGrants(config.New())
	if err != nil {
		t.Fatal(err)
	}
	if g.String() != "nothing" {
		t.Errorf("default grants %s", g)
	}
}

func TestReadGrants(t *testing.T) {
	cfg := config.New()
	cfg.Set(Section, "pwm", "6, 7")
	cfg.Set(Section, "gpio", "26")
	cfg.Set(Section, "i2c", "0x10, 3:0x20, 17")
	cfg.Set(Section, "serial", "/dev/ttyACM0")
	g, err := ReadGrants(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.String(), "pwm=6,7 gpio=26 i2c=0x10,0x11,3:0x20 serial=/dev/ttyACM0"; got != want {
		t.Errorf("grants %q, want %q", got, want)
	}
}

// Every key of [scripts.hardware] is read: a bad value names it.
func TestEveryKeyIsRead(t *testing.T) {
	keys := []string{"pwm", "gpio", "i2c", "serial"}
	for _, k := range keys {
		if !strings.Contains(config.Defaults, "\n"+k+"=") {
			t.Errorf("Defaults has no %s", k)
		}
		cfg := config.New()
		cfg.Set(Section, k, "not-a-value")
		_, err := ReadGrants(cfg)
		if err == nil || !strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), "not-a-value") {
			t.Errorf("%s = not-a-value: %v; want an error naming the key and value", k, err)
		}
	}
	if config.OwnedSections[Section] != "scripthw" {
		t.Errorf("OwnedSections[%s] = %q", Section, config.OwnedSections[Section])
	}
}

func TestBadGrants(t *testing.T) {
	for _, c := range []struct{ key, value, want string }{
		{"pwm", "0", `PWM channel "0": want a whole number from 1 to 16`},
		{"pwm", "6;7", `PWM channel "6;7"`},
		{"gpio", "28", `GPIO pin "28": want a whole number from 0 to 27`},
		{"i2c", "0x80", `I²C entry "0x80": address "0x80": want 0x03 to 0x77`},
		{"i2c", "x:0x10", `bus "x"`},
		{"serial", "ttyACM0", `serial port "ttyACM0": want a path under /dev/`},
		{"serial", "/dev/../etc/passwd", `without ..`},
	} {
		cfg := config.New()
		cfg.Set(Section, c.key, c.value)
		_, err := ReadGrants(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: %v; want %q", c.key, c.value, err, c.want)
		}
	}
}

func FuzzParseGrants(f *testing.F) {
	for _, s := range []string{"6,7", " 0x10, 3:0x20", "/dev/ttyACM0", "", ",,", "1:", ":0x10", "0b101", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := ParsePWM(s); err == nil {
			for ch := range m {
				if ch < 1 || ch > MaxPWMChannel {
					t.Fatalf("%q: channel %d accepted", s, ch)
				}
			}
		}
		if m, err := ParseGPIO(s); err == nil {
			for p := range m {
				if p < 0 || p > MaxGPIOPin {
					t.Fatalf("%q: pin %d accepted", s, p)
				}
			}
		}
		if m, err := ParseI2C(s); err == nil {
			for a := range m {
				if a.Addr < MinI2CAddr || a.Addr > MaxI2CAddr || a.Bus < 0 || a.Bus > MaxI2CBus {
					t.Fatalf("%q: %+v accepted", s, a)
				}
				// What String prints parses back to itself.
				back, err := ParseI2C(a.String())
				if err != nil || !back[a] {
					t.Fatalf("%q: %v does not parse back: %v", s, a, err)
				}
			}
		}
		if m, err := ParseSerial(s); err == nil {
			for p := range m {
				if !strings.HasPrefix(p, "/dev/") || strings.Contains(p, "..") || strings.Contains(p, ",") {
					t.Fatalf("%q: port %q accepted", s, p)
				}
			}
		}
	})
}
