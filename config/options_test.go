package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var defaultOptions = Options{
	Unit: UnitOptions{Name: "", Experiment: "exp0"},
	Cluster: ClusterOptions{LeaderAddress: "127.0.0.1", UIPort: 8080, UIProto: "http",
		BrokerLostStop: 30 * time.Second, RequestTimeout: 10 * time.Second},
	MQTT: MQTTOptions{BrokerAddress: "127.0.0.1", BrokerPort: 1883},
	PWM:  map[int]string{1: "stirring", 2: "media", 3: "alt_media", 4: "waste", 5: "heating", 6: "salty_media", 7: "acid"},
	Bioreactor: BioreactorOptions{
		Model:           Model{"pioreactor_40ml", 40, 36},
		InitialVolumeML: 14, EffluxTubeVolumeML: 14,
	},
	Dosing: DosingOptions{
		PauseBetweenSubdoses:   5 * time.Second,
		WasteRemovalMultiplier: 2,
		MaxSubdoseML:           1,
		FirstRunDelay:          2 * time.Second,
		MaxScriptSteps:         100_000_000,
		MaxExecute:             time.Hour,
	},
	Simulation: defaultSimulation,
	Scripts:    ScriptsOptions{MemoryLimitMB: 128},
}

func TestOptionsDefaults(t *testing.T) {
	o, err := New().Options()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o, defaultOptions) {
		t.Errorf("New().Options() =\n%+v\nwant\n%+v", o, defaultOptions)
	}
	if o.MQTT.Addr() != "127.0.0.1:1883" {
		t.Errorf("Addr() = %s", o.MQTT.Addr())
	}
	if ch, ok := o.PWMChannel("waste"); ch != 4 || !ok {
		t.Errorf("PWMChannel(waste) = %d %v", ch, ok)
	}
	if _, ok := o.PWMChannel("vinegar"); ok {
		t.Error("an unwired device has a channel")
	}
	// A Config that is not from New still reads Defaults.
	if o, err := (&Config{}).Options(); err != nil || !reflect.DeepEqual(o, defaultOptions) {
		t.Errorf("(&Config{}).Options() = %+v, %v", o, err)
	}
}

// Every key in Defaults is read by Options, and Options reads no key that
// Defaults lacks (lookup panics on one).
func TestOptionsCoverDefaults(t *testing.T) {
	r := &optionReader{c: New()}
	r.options()
	if len(r.errs) != 0 {
		t.Fatal(r.errs)
	}
	read := map[[2]string]bool{}
	for _, k := range r.read {
		read[k] = true
	}
	for sec, keys := range defaultTable() {
		for key := range keys {
			if sec == "PWM" {
				key = ""
			}
			if _, owned := OwnedSections[sec]; owned {
				continue
			}
			if !read[[2]string{sec, key}] {
				t.Errorf("Options does not read [%s] %s", sec, key)
			}
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		text string // config.ini; the bad key is on line 2 unless the want says otherwise
		want string
	}{
		{"[cluster.topology]\nunit_name=pio/01", `config.ini:2: [cluster.topology] unit_name: want a name without /, +, # or line breaks (it is an MQTT topic level), got "pio/01"`},
		{"[cluster.topology]\nexperiment=trial #2", `config.ini:2: [cluster.topology] experiment: want a name without /, +, # or line breaks (it is an MQTT topic level), got "trial #2" (inline comments are not stripped; put the comment on a line of its own)`},
		{"[mqtt]\nbroker_address=leader local", `config.ini:2: [mqtt] broker_address: want a host name or address, got "leader local"`},
		{"[mqtt]\nbroker_address=;backup", `config.ini:2: [mqtt] broker_address: want a host name or address, got ";backup"`},
		{"[mqtt]\nbroker_port=0", `config.ini:2: [mqtt] broker_port: want a port number from 1 to 65535, got "0"`},
		{"[mqtt]\nbroker_port=65536", `config.ini:2: [mqtt] broker_port: want a port number from 1 to 65535, got "65536"`},
		{"[mqtt]\nbroker_port=1883 # the default", `config.ini:2: [mqtt] broker_port: want a port number from 1 to 65535, got "1883 # the default" (inline comments are not stripped; put the comment on a line of its own)`},
		{"[PWM]\n10=pump", `config.ini:2: [PWM] 10: want a channel number from 1 to 9 as the key`},
		{"[PWM]\n0=pump", `config.ini:2: [PWM] 0: want a channel number from 1 to 9 as the key`},
		{"[PWM]\nA=pump", `config.ini:2: [PWM] A: want a channel number from 1 to 9 as the key`},
		{"[PWM]\n8=alt media", `config.ini:2: [PWM] 8: want a device name without spaces, got "alt media"`},
		{"[PWM]\n8=pump ; spare", `config.ini:2: [PWM] 8: want a device name without spaces, got "pump ; spare" (inline comments are not stripped; put the comment on a line of its own)`},
		{"[PWM]\n8=pump\n9=pump", `config.ini:3: [PWM] 9: device "pump" is also on channel 8 (config.ini:2)`},
		{"[bioreactor]\nmodel=pioreactor_1l", `config.ini:2: [bioreactor] model: want a known model (pioreactor_20ml, pioreactor_20ml_XR, pioreactor_40ml, pioreactor_40ml_XR), got "pioreactor_1l"`},
		{"[bioreactor]\ninitial_volume_ml=-1", `config.ini:2: [bioreactor] initial_volume_ml: want a non-negative number, got "-1"`},
		{"[bioreactor]\ninitial_volume_ml=NaN", `config.ini:2: [bioreactor] initial_volume_ml: want a non-negative number, got "NaN"`},
		{"[bioreactor]\ninitial_volume_ml=inf", `config.ini:2: [bioreactor] initial_volume_ml: want a non-negative number, got "inf"`},
		{"[bioreactor]\ninitial_volume_ml=41", `config.ini:2: [bioreactor] initial_volume_ml: want at most the capacity of pioreactor_40ml (40 mL), got "41"`},
		{"[bioreactor]\nefflux_tube_volume_ml=21\nmodel=pioreactor_20ml", `config.ini:2: [bioreactor] efflux_tube_volume_ml: want at most the capacity of pioreactor_20ml (20 mL), got "21"`},
		{"[bioreactor]\nefflux_tube_volume_ml=ten", `config.ini:2: [bioreactor] efflux_tube_volume_ml: want a non-negative number, got "ten"`},
		{"[bioreactor]\ninitial_alt_media_fraction=1.5", `config.ini:2: [bioreactor] initial_alt_media_fraction: want a number from 0 to 1, got "1.5"`},
		{"[bioreactor]\ninitial_cumulative_media_added_ml=-0.1", `config.ini:2: [bioreactor] initial_cumulative_media_added_ml: want a non-negative number, got "-0.1"`},
		{"[bioreactor]\ninitial_cumulative_alt_media_added_ml=-2", `config.ini:2: [bioreactor] initial_cumulative_alt_media_added_ml: want a non-negative number, got "-2"`},
		{"[bioreactor]\ninitial_cumulative_waste_removed_ml=x", `config.ini:2: [bioreactor] initial_cumulative_waste_removed_ml: want a non-negative number, got "x"`},
		{"[dosing_automation.config]\npause_between_subdoses_seconds=-1", `config.ini:2: [dosing_automation.config] pause_between_subdoses_seconds: want a non-negative number, got "-1"`},
		{"[dosing_automation.config]\nwaste_removal_multiplier=-1", `config.ini:2: [dosing_automation.config] waste_removal_multiplier: want a non-negative number, got "-1"`},
		{"[dosing_automation.config]\nmax_subdose=-1", `config.ini:2: [dosing_automation.config] max_subdose: want a positive number, got "-1"`},
		{"[dosing_automation.config]\nmax_subdose=0", `config.ini:2: [dosing_automation.config] max_subdose: want a positive number, got "0"`},
		{"[dosing_automation.config]\nmax_subdose=1.0 # mL", `config.ini:2: [dosing_automation.config] max_subdose: want a positive number, got "1.0 # mL" (inline comments are not stripped; put the comment on a line of its own)`},
		{"[dosing_automation.config]\nmax_subdose=1\n  2", `config.ini:2: [dosing_automation.config] max_subdose: want a positive number, got "1\n2"`},
		{"[dosing_automation.config]\nfirst_run_delay_seconds=-2", `config.ini:2: [dosing_automation.config] first_run_delay_seconds: want a non-negative number, got "-2"`},
		{"[dosing_automation.config]\nmax_script_steps=0", `config.ini:2: [dosing_automation.config] max_script_steps: want a positive integer, got "0"`},
		{"[dosing_automation.config]\nmax_script_steps=1.5", `config.ini:2: [dosing_automation.config] max_script_steps: want a positive integer, got "1.5"`},
		{"[dosing_automation.config]\nmax_script_steps=-3", `config.ini:2: [dosing_automation.config] max_script_steps: want a positive integer, got "-3"`},
		{"[dosing_automation.config]\nmax_script_steps=1e20", `config.ini:2: [dosing_automation.config] max_script_steps: want a positive integer, got "1e20"`},
		{"[dosing_automation.config]\nmax_execute_minutes=0", `config.ini:2: [dosing_automation.config] max_execute_minutes: want a positive number, got "0"`},
		{"[dosing_automation.config]\nmax_execute_minutes=1e300", `config.ini:2: [dosing_automation.config] max_execute_minutes: want a positive number, got "1e300", which is too long`},
		{"[dosing_automation.config]\nmax_execute_minutes=1e-12", `config.ini:2: [dosing_automation.config] max_execute_minutes: want at least 0.0167 minutes (1s), got "1e-12", which is 0s`},
		{"[dosing_automation.config]\nmax_execute_minutes=0.0166", `config.ini:2: [dosing_automation.config] max_execute_minutes: want at least 0.0167 minutes (1s), got "0.0166", which is 996ms`},
		{"[simulation]\npump_ml_per_second=0", `config.ini:2: [simulation] pump_ml_per_second: want a number of mL/s from 0.001 to 10 (the range of a pump calibration: it is the simulated pumps' factory calibration), got "0"`},
		{"[simulation]\npump_ml_per_second=1e-300", `config.ini:2: [simulation] pump_ml_per_second: want a number of mL/s from 0.001 to 10 (the range of a pump calibration: it is the simulated pumps' factory calibration), got "1e-300"`},
		{"[simulation]\npump_ml_per_second=11", `config.ini:2: [simulation] pump_ml_per_second: want a number of mL/s from 0.001 to 10 (the range of a pump calibration: it is the simulated pumps' factory calibration), got "11"`},
		{"[simulation]\npump_flow_spread=1", `config.ini:2: [simulation] pump_flow_spread: want a number from 0 up to (not including) 1, got "1"`},
		{"[simulation]\npump_flow_spread=-0.1", `config.ini:2: [simulation] pump_flow_spread: want a number from 0 up to (not including) 1, got "-0.1"`},
		{"[scripts]\nmemory_limit_mb=31", `config.ini:2: [scripts] memory_limit_mb: want a whole number of MB from 32 to 1048576, got "31"`},
		{"[scripts]\nmemory_limit_mb=1048577", `config.ini:2: [scripts] memory_limit_mb: want a whole number of MB from 32 to 1048576, got "1048577"`},
		{"[scripts]\nmemory_limit_mb=256.5", `config.ini:2: [scripts] memory_limit_mb: want a whole number of MB from 32 to 1048576, got "256.5"`},
		{"[scripts]\nmemory_limit_mb=-1", `config.ini:2: [scripts] memory_limit_mb: want a whole number of MB from 32 to 1048576, got "-1"`},
		{"[scripts]\nmemory_limit_mb=256 MB", `config.ini:2: [scripts] memory_limit_mb: want a whole number of MB from 32 to 1048576, got "256 MB"`},
	} {
		write(t, ".", "config.ini", tc.text+"\n")
		c, err := Load("config.ini")
		if err != nil {
			t.Errorf("Load(%q): %v", tc.text, err)
			continue
		}
		_, err = c.Options()
		var ce *Error
		if err == nil || err.Error() != tc.want || !errors.As(err, &ce) || ce.File != "config.ini" {
			t.Errorf("Options(%q)\n got %v\nwant %s", tc.text, err, tc.want)
		}
	}
}

func TestOptionsGoodValues(t *testing.T) {
	c := New()
	for _, kv := range [][3]string{
		{"dosing_automation.config", "max_script_steps", "1e8"},
		{"dosing_automation.config", "pause_between_subdoses_seconds", "0.3"},
		{"dosing_automation.config", "first_run_delay_seconds", "0"},
		{"dosing_automation.config", "max_execute_minutes", "0.5"},
		{"mqtt", "broker_address", "leader.local;10.42.0.1"},
		{"mqtt", "broker_port", "1884"},
		{"cluster.topology", "experiment", "Trial 7"},
		{"bioreactor", "model", "pioreactor_20ml"},
		{"bioreactor", "initial_volume_ml", "20"},
		{"bioreactor", "efflux_tube_volume_ml", "19"},
		{"PWM", "6", ""},
		{"PWM", "9", "acid"},
		{"simulation", "pump_flow_spread", "0"},
		{"scripts", "memory_limit_mb", "32"},
	} {
		c.Set(kv[0], kv[1], kv[2])
	}
	o, err := c.Options()
	if err != nil {
		t.Fatal(err)
	}
	d := o.Dosing
	if d.MaxScriptSteps != 100_000_000 || d.PauseBetweenSubdoses != 300*time.Millisecond || d.FirstRunDelay != 0 || d.MaxExecute != 30*time.Second {
		t.Errorf("dosing %+v", d)
	}
	if o.MQTT.Addr() != "leader.local:1884" || o.MQTT.BrokerAddress != "leader.local;10.42.0.1" {
		t.Errorf("mqtt %+v %s", o.MQTT, o.MQTT.Addr())
	}
	if o.Unit.Experiment != "Trial 7" || o.Bioreactor.InitialVolumeML != 20 || o.Bioreactor.Model.Name != "pioreactor_20ml" || o.Simulation.PumpFlowSpread != 0 || o.Scripts.MemoryLimitMB != 32 {
		t.Errorf("%+v", o)
	}
	wantPWM := map[int]string{1: "stirring", 2: "media", 3: "alt_media", 4: "waste", 5: "heating", 9: "acid"}
	if !reflect.DeepEqual(o.PWM, wantPWM) {
		t.Errorf("PWM %v, want %v", o.PWM, wantPWM)
	}
}

// Every bad value is reported, each naming where it was set; a later file's
// value is the one checked.
func TestOptionsErrorsNameTheirFile(t *testing.T) {
	t.Chdir(t.TempDir())
	write(t, ".", "config.ini", "[dosing_automation.config]\nmax_subdose=-1\nwaste_removal_multiplier=x\n[simulation]\npump_ml_per_second=0\n")
	write(t, ".", "unit_config.ini", "# this unit\n[dosing_automation.config]\nmax_subdose=0.5\n[mqtt]\nbroker_port=http\n")
	c, err := Load("config.ini", "unit_config.ini")
	if err != nil {
		t.Fatal(err)
	}
	c.Set("cluster.topology", "unit_name", "a/b")
	_, err = c.Options()
	want := strings.Join([]string{
		`override: [cluster.topology] unit_name: want a name without /, +, # or line breaks (it is an MQTT topic level), got "a/b"`,
		`config.ini:3: [dosing_automation.config] waste_removal_multiplier: want a non-negative number, got "x"`,
		`unit_config.ini:5: [mqtt] broker_port: want a port number from 1 to 65535, got "http"`,
		`config.ini:5: [simulation] pump_ml_per_second: want a number of mL/s from 0.001 to 10 (the range of a pump calibration: it is the simulated pumps' factory calibration), got "0"`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("Options() error\n%v\nwant\n%s", err, want)
	}
	var ce *Error
	if !errors.As(err, &ce) || *ce != (Error{File: SourceOverride, Section: "cluster.topology", Key: "unit_name", Msg: ce.Msg}) {
		t.Errorf("first error %+v", ce)
	}
}

func TestOptionsUpstreamConfig(t *testing.T) {
	c, err := Load("testdata/upstream_config.ini")
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Options()
	if err != nil {
		t.Fatal(err)
	}
	want := defaultOptions
	want.MQTT.Username, want.MQTT.Password = "pioreactor", "raspberry"
	want.Bioreactor.InitialVolumeML, want.Bioreactor.EffluxTubeVolumeML = 15, 15
	want.Cluster.UIPort = 80
	if !reflect.DeepEqual(o, want) {
		t.Errorf("Options() =\n%+v\nwant\n%+v", o, want)
	}
	for _, tc := range []struct{ section, key, want string }{
		{"dosing_automation.pid_morbidostat", "Kp", "1"},
		{"temperature_automation.thermostat", "Kd", "4.6"},
		{"stirring.config", "enable_dodging_od", "False"},
		{"od_config.photodiode_channel", "1", "REF"},
		{"od_config.photodiode_channel", "3", ""},
		{"storage", "number_of_backup_replicates_to_workers", "2"},
		{"cluster.topology", "leader_address", ""},
		{"ui", "banner", "Shared cluster:\nask before you dose.\n\nThanks!"},
	} {
		if got, ok := c.Get(tc.section, tc.key); !ok || got != tc.want {
			t.Errorf("[%s] %s = %q %v; want %q", tc.section, tc.key, got, ok, tc.want)
		}
	}
	if _, ok := c.Get("od_reading.config", "local_ac_hz"); ok {
		t.Error("a commented-out key is set")
	}
	if _, ok := c.Get("dosing_automation.pid_morbidostat", "kp"); ok {
		t.Error("keys must be case-sensitive")
	}
	if file, line, _ := c.Source("dosing_automation.config", "max_subdose"); file != "testdata/upstream_config.ini" || line != 79 {
		t.Errorf("max_subdose from %s:%d", file, line)
	}
}

func ExampleConfig_Options() {
	c := New()
	c.Set("dosing_automation.config", "max_subdose", "-1")
	_, err := c.Options()
	fmt.Println(err)
	c.Set("dosing_automation.config", "max_subdose", "0.5")
	o, _ := c.Options()
	fmt.Println(o.Dosing.MaxSubdoseML, o.Dosing.PauseBetweenSubdoses, o.MQTT.Addr())
	// Output:
	// override: [dosing_automation.config] max_subdose: want a positive number, got "-1"
	// 0.5 5s 127.0.0.1:1883
}
