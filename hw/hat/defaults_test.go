package hat

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeHardware(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, text := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuiltInLayouts(t *testing.T) {
	hatPins := map[int]int{1: 17, 2: 13, 3: 16, 4: 12, 5: 18}
	tests := []struct {
		version      string
		model, mver  string
		pins         map[int]int
		pd1, pd2     ADCEntry
		pd4          *ADCEntry
		dac, temp    Addr
		led          string
		button, hall int
	}{
		{"0.1", "", "", map[int]int{1: 6, 2: 13, 3: 16, 4: 12, 5: 18}, ADCEntry{"ads1115", 0x48, 0}, ADCEntry{"ads1115", 0x48, 1}, nil, 0x49, 0x4F, "dac43608", 24, 25},
		{"1.0", "", "", hatPins, ADCEntry{"ads1115", 0x48, 1}, ADCEntry{"ads1115", 0x48, 0}, nil, 0x49, 0x4F, "dac43608", 24, 25},
		{"1.1", "", "", hatPins, ADCEntry{"pico", 0x2C, 2}, ADCEntry{"pico", 0x2C, 3}, nil, 0x2C, 0x4F, "pico", 4, 21},
		{"1.2", "pioreactor_20ml", "1.0", hatPins, ADCEntry{"pico", 0x2C, 2}, ADCEntry{"pico", 0x2C, 3}, nil, 0x2C, 0x4F, "pico", 4, 21},
		{"1.2", "pioreactor_40ml", "1.5", hatPins, ADCEntry{"ads1114", 0x49, 0}, ADCEntry{"ads1114", 0x4A, 0}, nil, 0x2C, 0x4F, "pico", 4, 21},
		{"1.1", "pioreactor_20ml_XR", "1.5", hatPins, ADCEntry{"ads1114", 0x49, 0}, ADCEntry{"ads1114", 0x4A, 0}, &ADCEntry{"ads1114", 0x48, 0}, 0x2C, 0x4F, "pico", 4, 21},
	}
	for _, tt := range tests {
		t.Run(tt.version+" "+tt.model+" "+tt.mver, func(t *testing.T) {
			major, minor, _ := ParseHATVersion(tt.version)
			l, err := LoadLayout("", major, minor, tt.model, tt.mver)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l.PWM.Pins, tt.pins) || l.PWM.HeaterChannel != "5" {
				t.Errorf("pwm %v heater %q, want %v heater 5", l.PWM.Pins, l.PWM.HeaterChannel, tt.pins)
			}
			if p, err := PWMPins(major, minor); err != nil || !reflect.DeepEqual(p, tt.pins) {
				t.Errorf("the table disagrees with PWMPins: %v %v", p, err)
			}
			if l.ADC["pd1"] != tt.pd1 || l.ADC["pd2"] != tt.pd2 {
				t.Errorf("pd1 %+v pd2 %+v, want %+v %+v", l.ADC["pd1"], l.ADC["pd2"], tt.pd1, tt.pd2)
			}
			if e, ok := l.PhotodiodeEntry(4); (tt.pd4 == nil) == ok || ok && e != *tt.pd4 {
				t.Errorf("pd4 %+v %v, want %v", e, ok, tt.pd4)
			}
			if _, ok := l.ADC["version"]; !ok {
				t.Error("no version entry: the HAT's ADC stays under a model's photodiodes")
			}
			if l.DAC.Address != tt.dac || l.Temp.Address != tt.temp || l.LEDDriver() != tt.led {
				t.Errorf("dac %s temp %s led %s, want %s %s %s", l.DAC.Address, l.Temp.Address, l.LEDDriver(), tt.dac, tt.temp, tt.led)
			}
			if l.GPIO.Button != tt.button || l.GPIO.Hall != tt.hall || l.GPIO.StatusLED != 23 {
				t.Errorf("gpio %+v", l.GPIO)
			}
			if l.GPIO.Button != ButtonPin(major, minor) || l.GPIO.Hall != HallPin(major, minor) {
				t.Error("the table disagrees with ButtonPin/HallPin")
			}
		})
	}
}

func TestLayeredFiles(t *testing.T) {
	dir := writeHardware(t, map[string]string{
		// upstream's image files: hex addresses, integer channel keys
		"hats/1.2/adc.yaml":                    "pd1:\n  driver: pico\n  address: 0x2C\n  channel: 3\n",
		"hats/1.2/pwm.yaml":                    "pwm_to_pin:\n  1: 22\n",
		"hats/1.2/dac.yaml":                    "address: \"0x2d\"\n",
		"models/pioreactor_40ml/1.5/adc.yaml":  "pd2:\n  driver: ads1114\n  address: 0x4B\n  channel: 0\n",
		"models/pioreactor_40ml/1.5/gpio.yaml": "",
	})
	l, err := LoadLayout(dir, 1, 2, "pioreactor_40ml", "1.5")
	if err != nil {
		t.Fatal(err)
	}
	// The model's defaults lie above the HAT's file: pd1 is the model's.
	if want := (ADCEntry{"ads1114", 0x49, 0}); l.ADC["pd1"] != want {
		t.Errorf("pd1 %+v, want %+v", l.ADC["pd1"], want)
	}
	if want := (ADCEntry{"ads1114", 0x4B, 0}); l.ADC["pd2"] != want {
		t.Errorf("pd2 %+v, want the model file's %+v", l.ADC["pd2"], want)
	}
	if l.PWM.Pins[1] != 22 || l.PWM.Pins[2] != 13 {
		t.Errorf("pins %v: want channel 1 from the file merged over the defaults", l.PWM.Pins)
	}
	if l.DAC.Address != 0x2D {
		t.Errorf("dac %s, want 0x2D", l.DAC.Address)
	}
	if src := strings.Join(l.Sources["adc"], " < "); !strings.Contains(src, "HAT 1.2 defaults < "+filepath.Join(dir, "hats/1.2/adc.yaml")+" < pioreactor_40ml 1.5 defaults < ") {
		t.Errorf("adc sources %q", src)
	}

	// A HAT without built-in tables works from the files alone.
	full := map[string]string{
		"hats/2.0/pwm.yaml":  "heater_pwm_channel: \"5\"\npwm_to_pin: {1: 17, 5: 18}\n",
		"hats/2.0/adc.yaml":  "pd1: {driver: pico, address: 0x2C, channel: 2}\n",
		"hats/2.0/dac.yaml":  "address: 0x2C\n",
		"hats/2.0/temp.yaml": "address: 0x4F\n",
		"hats/2.0/gpio.yaml": "pcb_led_pin: 23\npcb_button_pin: 4\nhall_sensor_pin: 21\n",
	}
	l, err = LoadLayout(writeHardware(t, full), 2, 0, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if l.LEDDriver() != "pico" || l.PWM.Pins[5] != 18 {
		t.Errorf("layout from files: %+v", l)
	}
}

func TestLayoutErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		major int
		want  []string
	}{
		{"unknown HAT without files", nil, 3, []string{"no built-in table for HAT 3.0", "known: 0.1, 1.0, 1.1, 1.2", "hats/3.0/pwm.yaml"}},
		{"hat_mcu", map[string]string{"hats/1.2/pwm.yaml": "controller: hat_mcu\n"}, 1, []string{"hardware pwm", "hats/1.2/pwm.yaml", `"hat_mcu"`, "not implemented"}},
		{"bad driver", map[string]string{"hats/1.2/adc.yaml": "pd1: {driver: mcp3008}\n"}, 1, []string{"pd1", `driver "mcp3008"`}},
		{"bad channel", map[string]string{"hats/1.2/adc.yaml": "pd3: {driver: ads1114, address: 0x48, channel: 2}\n"}, 1, []string{"pd3", "channel 2 of ads1114 is not one of 0 to 0"}},
		{"address above 7 bits", map[string]string{"hats/1.2/temp.yaml": "address: 0x80\n"}, 1, []string{"hardware temp", "0x80 is above the 7-bit maximum 0x7F"}},
		{"pin out of range", map[string]string{"hats/1.2/pwm.yaml": "pwm_to_pin: {3: 40}\n"}, 1, []string{"channel 3 on GPIO40"}},
		{"heater channel missing", map[string]string{"hats/1.2/pwm.yaml": "heater_pwm_channel: \"7\"\n"}, 1, []string{`heater_pwm_channel "7"`}},
		{"not a mapping", map[string]string{"hats/1.2/gpio.yaml": "- 1\n- 2\n"}, 1, []string{"hats/1.2/gpio.yaml", "want a mapping"}},
		{"bad YAML", map[string]string{"hats/1.2/dac.yaml": "address: [\n"}, 1, []string{"hats/1.2/dac.yaml"}},
		{"bad LED driver", map[string]string{"hats/1.2/dac.yaml": "driver: pca9685\n"}, 1, []string{`driver "pca9685"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			minor := 2
			if tt.major != 1 {
				minor = 0
			}
			_, err := LoadLayout(writeHardware(t, tt.files), tt.major, minor, "", "")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDefaultsAreNotChangedByMerging(t *testing.T) {
	dir := writeHardware(t, map[string]string{"hats/1.2/pwm.yaml": "pwm_to_pin: {1: 22}\n"})
	if _, err := LoadLayout(dir, 1, 2, "", ""); err != nil {
		t.Fatal(err)
	}
	l, err := LoadLayout("", 1, 2, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if l.PWM.Pins[1] != 17 {
		t.Errorf("a file changed the built-in table: channel 1 on GPIO%d", l.PWM.Pins[1])
	}
}

func FuzzModYAML(f *testing.F) {
	for _, s := range []string{
		"", "address: 0x49\n", "pwm_to_pin:\n  1: 17\n", "pd1: {driver: ads1114, address: 0x4A, channel: 0}\n",
		"controller: hat_mcu\n", "- a\n", "a: &x [1]\nb: *x\n", "pcb_led_pin: 99\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Parallel()
		tbl, err := ParseModYAML(data)
		if err != nil {
			return
		}
		for _, mod := range Mods {
			hatDef, _ := defaultsFor(1, 2, "", "", mod)
			deepMerge(hatDef, tbl)
			var l Layout
			_ = decodeMod(&l, mod, hatDef)
		}
	})
}
