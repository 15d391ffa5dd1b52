package script

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/piolab/pio/builtins"
)

// A Family is a kind of script: the job it runs as, the builtins it is
// granted, and the contract its globals must meet. A script names its family
// at its top level with a literal
//
//	automation_type = "temperature"
//
// and is a dosing automation without one. Builtins are granted per family, so
// a temperature script that calls execute_io_action fails at load time, with
// a message that names both families.
type Family struct {
	// Type is the automation_type value: dosing, temperature, led.
	Type string
	// Job is the job a script of the family runs as.
	Job string
	// Builtins are the family's own builtins (besides builtins.Common).
	Builtins func() starlark.StringDict
}

// Families are the script families pio knows, by automation_type.
var Families = map[string]Family{
	"dosing":      {Type: "dosing", Job: "dosing_automation", Builtins: builtins.Dosing},
	"temperature": {Type: "temperature", Job: "temperature_automation", Builtins: builtins.Temperature},
	"led":         {Type: "led", Job: "led_automation", Builtins: builtins.LED},
}

// familyTypes lists the known automation_type values.
func familyTypes() string {
	var names []string
	for n := range Families {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// DetectFamily reads a script's automation_type from its syntax, before it
// runs (the family decides which builtins it may use). It returns the family
// and the position of the declaration ("" for the default, dosing).
func DetectFamily(file string, src []byte) (Family, string, error) {
	f, err := FileOptions.Parse(filepath.Base(file), src, 0) // positions name the file, as LoadModule's do
	if err != nil {
		return Family{}, "", parseError(err, src)
	}
	return detectFamily(f)
}

// detectFamily is DetectFamily on a parsed script.
func detectFamily(f *syntax.File) (Family, string, error) {
	for _, stmt := range f.Stmts {
		assign, ok := stmt.(*syntax.AssignStmt)
		if !ok || assign.Op != syntax.EQ {
			continue
		}
		id, ok := assign.LHS.(*syntax.Ident)
		if !ok || id.Name != "automation_type" {
			continue
		}
		pos := id.NamePos.String()
		lit, ok := assign.RHS.(*syntax.Literal)
		if !ok || lit.Token != syntax.STRING {
			return Family{}, "", fmt.Errorf("%s: automation_type must be a string literal (one of %s)", pos, familyTypes())
		}
		name := lit.Value.(string)
		fam, ok := Families[name]
		if !ok {
			return Family{}, "", fmt.Errorf("%s: automation_type %q: pio knows %s", pos, name, familyTypes())
		}
		return fam, pos, nil
	}
	return Families["dosing"], "", nil
}

// explainUndefined adds, to an "undefined: <name>" load error for a builtin
// of another family, which family has it and which family the script is.
func explainUndefined(err *Error, fam Family, declaredAt string) *Error {
	name, ok := strings.CutPrefix(err.Msg, "undefined: ")
	if !ok {
		return err
	}
	for _, other := range Families {
		if other.Type == fam.Type {
			continue
		}
		if _, has := other.Builtins()[name]; has {
			where := "by its automation_type"
			if declaredAt != "" {
				where = "by automation_type at " + declaredAt
			}
			err.Msg = fmt.Sprintf("%s is a builtin of %s automations; this script is a %s automation (%s), which has no %s",
				name, other.Type, fam.Type, where, name)
			return err
		}
	}
	if h := undefinedHint(name); h != "" {
		err.Msg += hintSep + h
	}
	return err
}
