package script

import (
	"fmt"
	"math"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/payload"
)

// A setting's schema: instead of a plain default, a setting may be a dict
//
//	"volume": {"default": 0.5, "type": "float", "unit": "mL", "min": 0.1, "max": 5.0,
//	           "description": "Volume exchanged per dose"},
//
// with any of these keys. The type ("float", "int", "bool", "string") must
// agree with the default, the default must lie within min and max and be
// one of the choices; the job refuses values outside them at start and on
// /set (automation.SettingDecl.CheckValue).

// schemaKeys are the keys of a setting's schema, in the order docs list them.
var schemaKeys = []string{"default", "type", "unit", "min", "max", "choices", "description"}

// schemaTypes map a schema's type to a setting's datatype.
var schemaTypes = map[string]string{
	"float": payload.TypeFloat, "int": payload.TypeInteger, "bool": payload.TypeBoolean, "string": payload.TypeString,
}

// settingError is an error in the declaration of one setting; Check points
// it at the setting's entry in the settings dict.
type settingError struct {
	name string
	msg  string
}

func (e *settingError) Error() string { return e.msg }

// schemaDecl reads a setting declared with a schema.
func schemaDecl(name string, d *starlark.Dict) (automation.SettingDecl, error) {
	fail := func(format string, args ...any) (automation.SettingDecl, error) {
		return automation.SettingDecl{}, &settingError{name: name, msg: fmt.Sprintf("setting %s: ", name) + fmt.Sprintf(format, args...)}
	}
	fields := map[string]starlark.Value{}
	for _, kv := range d.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok || !contains(schemaKeys, string(k)) {
			return fail("unknown key %s in its schema (a schema has %s)", kv[0], quoteAll(schemaKeys))
		}
		fields[string(k)] = kv[1]
	}
	def, ok := fields["default"]
	if !ok {
		def = starlark.None
	}
	var decl automation.SettingDecl
	if t, ok := fields["type"]; ok {
		ts, ok := t.(starlark.String)
		datatype := schemaTypes[string(ts)]
		if !ok || datatype == "" {
			return fail(`type %s: want "float", "int", "bool" or "string"`, t)
		}
		if name == "duration" && ts != "float" {
			return fail(`duration is in minutes, a float: its type must be "float"`)
		}
		v, err := typedValue(string(ts), def)
		if err != nil {
			return fail("default %s: %v", def, err)
		}
		decl = automation.SettingDecl{Name: name, Datatype: datatype, Default: v}
	} else {
		var err error
		if decl, err = plainDecl(name, def); err != nil {
			return decl, err
		}
	}
	for _, key := range []string{"unit", "description"} {
		v, ok := fields[key]
		if !ok {
			continue
		}
		s, ok := v.(starlark.String)
		if !ok {
			return fail("%s: want a string, got %s", key, v.Type())
		}
		if key == "unit" {
			decl.Unit = string(s)
		} else {
			decl.Description = string(s)
		}
	}
	numeric := decl.Datatype == payload.TypeFloat || decl.Datatype == payload.TypeInteger || decl.Datatype == payload.TypeNumber
	for _, key := range []string{"min", "max"} {
		v, ok := fields[key]
		if !ok {
			continue
		}
		if !numeric {
			return fail("%s is for numbers, and the setting is a %s", key, typeName(decl.Datatype))
		}
		f, ok := finite(v)
		if !ok {
			return fail("%s: want a finite number, got %s", key, v)
		}
		if key == "min" {
			decl.Min = &f
		} else {
			decl.Max = &f
		}
	}
	if decl.Min != nil && decl.Max != nil && *decl.Min > *decl.Max {
		return fail("min %s is above max %s", payload.PyFloat(*decl.Min), payload.PyFloat(*decl.Max))
	}
	if v, ok := fields["choices"]; ok {
		list, ok := v.(starlark.Indexable)
		if _, isStr := v.(starlark.String); !ok || isStr || list.Len() == 0 {
			return fail("choices: want a list of the values allowed, got %s", v)
		}
		decl.Choices = []any{}
		for i := 0; i < list.Len(); i++ {
			c, err := typedValue(schemaName(decl.Datatype), list.Index(i))
			if err != nil || c == nil {
				return fail("choice %s is not a %s", list.Index(i), typeName(decl.Datatype))
			}
			decl.Choices = append(decl.Choices, c)
		}
	}
	if err := decl.CheckValue(decl.Default); err != nil {
		return fail("default %v", err)
	}
	return decl, nil
}

// typedValue converts a default or a choice to a value of the schema type
// typ; None is no value (a required setting).
func typedValue(typ string, v starlark.Value) (any, error) {
	if v == starlark.None {
		return nil, nil
	}
	switch typ {
	case "float", "number":
		if _, isBool := v.(starlark.Bool); !isBool {
			if f, ok := finite(v); ok {
				if n, isInt := v.(starlark.Int); isInt && typ == "number" {
					if i, ok := n.Int64(); ok {
						return i, nil
					}
				}
				return f, nil
			}
		}
	case "int":
		if n, ok := v.(starlark.Int); ok {
			if i, ok := n.Int64(); ok {
				return i, nil
			}
		}
	case "bool":
		if b, ok := v.(starlark.Bool); ok {
			return bool(b), nil
		}
	case "string":
		if s, ok := v.(starlark.String); ok {
			return string(s), nil
		}
	}
	return nil, fmt.Errorf("is a %s, and the type is %s", v.Type(), typ)
}

// finite is a Starlark number as a finite float64.
func finite(v starlark.Value) (float64, bool) {
	if _, isBool := v.(starlark.Bool); isBool {
		return 0, false
	}
	f, ok := starlark.AsFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// schemaName is the schema type of a datatype ("number" for an untyped
// int default, which takes any number).
func schemaName(datatype string) string {
	for name, dt := range schemaTypes {
		if dt == datatype {
			return name
		}
	}
	return "number"
}

// typeName names a datatype in a message.
func typeName(datatype string) string {
	switch datatype {
	case payload.TypeBoolean:
		return "bool"
	case payload.TypeString:
		return "string"
	case payload.TypeInteger:
		return "int"
	}
	return "number"
}
