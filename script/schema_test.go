package script

import (
	"reflect"
	"testing"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/payload"
)

func ptr(f float64) *float64 { return &f }

func TestSettingsSchema(t *testing.T) {
	tests := []struct {
		decl string // the settings entry's value
		want automation.SettingDecl
		err  string
	}{
		// Plain defaults are as before.
		{decl: `0.5`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeFloat, Default: 0.5}},
		{decl: `3`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeNumber, Default: int64(3)}},
		{decl: `None`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeFloat}},
		// Schemas.
		{decl: `{"default": 0.5, "type": "float", "unit": "mL", "min": 0.1, "max": 5, "description": "per dose"}`,
			want: automation.SettingDecl{Name: "v", Datatype: payload.TypeFloat, Default: 0.5, Unit: "mL", Min: ptr(0.1), Max: ptr(5), Description: "per dose"}},
		{decl: `{"default": 2, "type": "float"}`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeFloat, Default: 2.0}},
		{decl: `{"default": 2, "type": "int", "min": 1}`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeInteger, Default: int64(2), Min: ptr(1)}},
		{decl: `{"default": 2, "max": 3}`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeNumber, Default: int64(2), Max: ptr(3)}},
		{decl: `{"type": "int", "min": 0}`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeInteger, Min: ptr(0)}},
		{decl: `{"default": "od", "type": "string", "choices": ["od", "normalized_od"]}`,
			want: automation.SettingDecl{Name: "v", Datatype: payload.TypeString, Default: "od", Choices: []any{"od", "normalized_od"}}},
		{decl: `{"default": True, "type": "bool"}`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeBoolean, Default: true}},
		{decl: `{"default": 1.0, "choices": [1, 2.5]}`, want: automation.SettingDecl{Name: "v", Datatype: payload.TypeFloat, Default: 1.0, Choices: []any{1.0, 2.5}}},
		// Errors.
		{decl: `{"default": 1, "maximum": 3}`, err: `setting v: unknown key "maximum" in its schema (a schema has "default", "type", "unit", "min", "max", "choices", "description")`},
		{decl: `{"default": 1, "type": "integer"}`, err: `setting v: type "integer": want "float", "int", "bool" or "string"`},
		{decl: `{"default": 1.5, "type": "int"}`, err: `setting v: default 1.5: is a float, and the type is int`},
		{decl: `{"default": "1", "type": "float"}`, err: `setting v: default "1": is a string, and the type is float`},
		{decl: `{"default": True, "type": "float"}`, err: `setting v: default True: is a bool, and the type is float`},
		{decl: `{"default": 9, "type": "float", "unit": "mL", "max": 5}`, err: `setting v: default 9.0 mL is above the maximum, 5.0 mL`},
		{decl: `{"default": 0, "min": 1}`, err: `setting v: default 0 is below the minimum, 1.0`},
		{decl: `{"default": 1, "min": 3, "max": 2}`, err: `setting v: min 3.0 is above max 2.0`},
		{decl: `{"default": "a", "min": 1}`, err: `setting v: min is for numbers, and the setting is a string`},
		{decl: `{"default": 1, "min": "0"}`, err: `setting v: min: want a finite number, got "0"`},
		{decl: `{"default": "c", "choices": ["a", "b"]}`, err: `setting v: default "c" is not one of the choices: "a", "b"`},
		{decl: `{"default": "a", "choices": []}`, err: `setting v: choices: want a list of the values allowed, got []`},
		{decl: `{"default": "a", "choices": ["a", 1]}`, err: `setting v: choice 1 is not a string`},
		{decl: `{"default": 1, "unit": 3}`, err: `setting v: unit: want a string, got int`},
		{decl: `[1]`, err: `setting v: default [1] is a list; want a number, bool, string, None (a required number) or a dict with a schema`},
	}
	for _, tt := range tests {
		src := "settings = {\"v\": " + tt.decl + "}\ndef execute():\n    pass\n"
		s, err := Load("s.star", []byte(src), "u1", "e1")
		if tt.err != "" {
			// The error is at the setting's entry, as pio scripts check puts it.
			if err == nil || err.Error() != "s.star:1:13: "+tt.err {
				t.Errorf("%s: err = %v\nwant s.star:1:13: %s", tt.decl, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.decl, err)
			continue
		}
		if got := s.Settings(); len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.decl, got, tt.want)
		}
	}
}

func TestDurationSchemaIsAFloat(t *testing.T) {
	src := "settings = {\"duration\": {\"default\": 20, \"type\": \"int\"}}\ndef execute():\n    pass\n"
	_, err := Load("d.star", []byte(src), "u1", "e1")
	if err == nil || err.Error() != `d.star:1:13: setting duration: duration is in minutes, a float: its type must be "float"` {
		t.Errorf("err = %v", err)
	}
}
