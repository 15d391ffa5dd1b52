package config

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	c := New()
	if ch, ok := c.PWMChannel("media"); !ok || ch != 2 {
		t.Errorf("media on channel %d %v, want 2", ch, ok)
	}
	if _, ok := c.PWMChannel("vinegar"); ok {
		t.Error("an unwired device has a channel")
	}
	if f, err := c.Float("dosing_automation.config", "max_subdose", 0); err != nil || f != 1 {
		t.Errorf("max_subdose %v %v", f, err)
	}
	if c.BrokerAddr() != "127.0.0.1:1883" {
		t.Errorf("broker %s", c.BrokerAddr())
	}
	m, err := c.Model()
	if err != nil || m.MaxFillML != 36 || m.CapacityML != 40 || math.Abs(m.WarnML()-34.2) > 1e-9 {
		t.Errorf("model %+v %v", m, err)
	}
}

func TestLayeringAndErrors(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "config.ini")
	local := filepath.Join(dir, "unit_config.ini")
	os.WriteFile(shared, []byte("[PWM]\n2=waste\n4=media\n[mqtt]\nbroker_address=leader.local;backup\nbroker_port=1884\n[bioreactor]\nmodel=pioreactor_20ml\n"), 0o644)
	os.WriteFile(local, []byte("# unit override\n[dosing_automation.config]\nmax_subdose = 0.5\nKp=1\n"), 0o644)
	c, err := Load(shared, local, filepath.Join(dir, "missing.ini"))
	if err != nil {
		t.Fatal(err)
	}
	if ch, _ := c.PWMChannel("media"); ch != 4 {
		t.Errorf("media on %d, want 4", ch)
	}
	if c.BrokerAddr() != "leader.local:1884" {
		t.Errorf("broker %s", c.BrokerAddr())
	}
	if m, _ := c.Model(); m.MaxFillML != 18 {
		t.Errorf("model %+v", m)
	}
	if _, ok := c.Get("dosing_automation.config", "kp"); ok {
		t.Error("keys must be case-sensitive")
	}
	if f, _ := c.Float("dosing_automation.config", "max_subdose", 1); f != 0.5 {
		t.Errorf("unit_config.ini did not override: %v", f)
	}
	if len(c.Sources()) != 2 {
		t.Errorf("sources %v", c.Sources())
	}

	bad := filepath.Join(dir, "bad.ini")
	os.WriteFile(bad, []byte("[mqtt]\nbroker_port\n"), 0o644)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "bad.ini:2:") {
		t.Errorf("malformed file: %v", err)
	}
	c.Set("dosing_automation.config", "max_subdose", "lots")
	if _, err := c.Float("dosing_automation.config", "max_subdose", 1); err == nil || !strings.Contains(err.Error(), "[dosing_automation.config] max_subdose") {
		t.Errorf("malformed number: %v", err)
	}
	c.Set("bioreactor", "model", "pioreactor_1l")
	if _, err := c.Model(); err == nil {
		t.Error("unknown model accepted")
	}
}
