package automation

import (
	"testing"

	"github.com/piolab/pio/payload"
)

func f(x float64) *float64 { return &x }

func TestCheckValue(t *testing.T) {
	vol := SettingDecl{Name: "volume", Datatype: payload.TypeFloat, Unit: "mL", Min: f(0.1), Max: f(5)}
	n := SettingDecl{Name: "n", Datatype: payload.TypeInteger, Min: f(1)}
	mode := SettingDecl{Name: "mode", Datatype: payload.TypeString, Choices: []any{"fast", "slow"}}
	ratio := SettingDecl{Name: "ratio", Datatype: payload.TypeNumber, Choices: []any{1.0, 2.5}}
	for _, tt := range []struct {
		d    SettingDecl
		v    any
		want string
	}{
		{vol, 0.5, ""},
		{vol, 0.1, ""},
		{vol, 5.0, ""},
		{vol, nil, ""}, // a required setting not given yet
		{vol, 5.01, "5.01 mL is above the maximum, 5.0 mL"},
		{vol, 0.0, "0.0 mL is below the minimum, 0.1 mL"},
		{n, int64(0), "0 is below the minimum, 1.0"},
		{mode, "slow", ""},
		{mode, "Slow", `"Slow" is not one of the choices: "fast", "slow"`},
		{ratio, int64(1), ""},
		{ratio, 2.0, "2.0 is not one of the choices: 1.0, 2.5"},
		{SettingDecl{Name: "plain", Datatype: payload.TypeFloat}, 1e9, ""},
	} {
		err := tt.d.CheckValue(tt.v)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s = %v: %q, want %q", tt.d.Name, tt.v, got, tt.want)
		}
	}
}

func TestSettingValuesEnforcesBounds(t *testing.T) {
	decls := []SettingDecl{{Name: "target_od", Datatype: payload.TypeFloat, Default: 1.0, Max: f(3)}}
	if _, err := SettingValues("p", decls, map[string]string{"target_od": "4"}); err == nil ||
		err.Error() != "setting target_od (--target-od): 4.0 is above the maximum, 3.0" {
		t.Errorf("err = %v", err)
	}
	v, err := SettingValues("p", decls, map[string]string{"target_od": "2"})
	if err != nil || v["target_od"] != 2.0 {
		t.Errorf("values %v, %v", v, err)
	}
}
