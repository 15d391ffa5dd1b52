package script

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/customjob"
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

// Families are the automation families pio knows, by automation_type.
var Families = map[string]Family{
	"dosing":      {Type: "dosing", Job: "dosing_automation", Builtins: builtins.Dosing},
	"temperature": {Type: "temperature", Job: "temperature_automation", Builtins: builtins.Temperature},
	"led":         {Type: "led", Job: "led_automation", Builtins: builtins.LED},
}

// JobType is the Type of the family of custom jobs: scripts that declare
//
//	job_name = "ph_reading"
//
// at their top level (and no automation_type). Their Family's Job is that
// name.
const JobType = "job"

// jobFamily is the family of a custom job named name.
func jobFamily(name string) Family {
	return Family{Type: JobType, Job: name, Builtins: builtins.Job}
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

// DetectFamily reads a script's family from its syntax, before it runs (the
// family decides which builtins it may use): a custom job if it declares
// job_name, else the automation its automation_type names. It returns the
// family and the position of the declaration ("" for the default, dosing).
func DetectFamily(file string, src []byte) (Family, string, error) {
	f, err := FileOptions.Parse(filepath.Base(file), src, 0) // positions name the file, as LoadModule's do
	if err != nil {
		return Family{}, "", parseError(err, src)
	}
	return detectFamily(f)
}

// detectFamily is DetectFamily on a parsed script.
func detectFamily(f *syntax.File) (Family, string, error) {
	typ, typeAt, err := topLevelString(f, "automation_type", "one of "+familyTypes())
	if err != nil {
		return Family{}, "", err
	}
	job, jobAt, err := topLevelString(f, "job_name", `lowercase words joined by _, such as "ph_reading"`)
	if err != nil {
		return Family{}, "", err
	}
	switch {
	case jobAt != "" && typeAt != "":
		return Family{}, "", fmt.Errorf("%s: job_name, and automation_type at %s: a script is a custom job (job_name) or an automation (automation_type), not both", jobAt, typeAt)
	case jobAt != "":
		if err := customjob.CheckName(job); err != nil {
			return Family{}, "", fmt.Errorf("%s: %v", jobAt, err)
		}
		return jobFamily(job), jobAt, nil
	case typeAt == "":
		return Families["dosing"], "", nil
	}
	fam, ok := Families[typ]
	if !ok {
		if typ == JobType {
			return Family{}, "", fmt.Errorf("%s: automation_type %q: a custom job declares job_name = \"<name>\" instead", typeAt, typ)
		}
		return Family{}, "", fmt.Errorf("%s: automation_type %q: pio knows %s", typeAt, typ, familyTypes())
	}
	return fam, typeAt, nil
}

// topLevelString reads the string literal assigned to name at the top level
// of f, and the position of the assignment ("" when there is none). want
// says what the literal must be, for the error when it is not a literal.
func topLevelString(f *syntax.File, name, want string) (string, string, error) {
	for _, stmt := range f.Stmts {
		assign, ok := stmt.(*syntax.AssignStmt)
		if !ok || assign.Op != syntax.EQ {
			continue
		}
		id, ok := assign.LHS.(*syntax.Ident)
		if !ok || id.Name != name {
			continue
		}
		pos := id.NamePos.String()
		lit, ok := assign.RHS.(*syntax.Literal)
		if !ok || lit.Token != syntax.STRING {
			return "", "", fmt.Errorf("%s: %s must be a string literal (%s)", pos, name, want)
		}
		return lit.Value.(string), pos, nil
	}
	return "", "", nil
}

// explainUndefined adds, to an "undefined: <name>" load error for a builtin
// of another family, which family has it and which family the script is.
func explainUndefined(err *Error, fam Family, declaredAt string) *Error {
	name, ok := strings.CutPrefix(err.Msg, "undefined: ")
	if !ok {
		return err
	}
	others := []Family{jobFamily("")}
	for _, t := range []string{"dosing", "temperature", "led"} {
		others = append(others, Families[t])
	}
	for _, other := range others {
		if other.Type == fam.Type {
			continue
		}
		if _, has := other.Builtins()[name]; has {
			err.Msg = fmt.Sprintf("%s is a builtin of %s; this script is %s, which has no %s",
				name, familyDesc(other), scriptDesc(fam, declaredAt), name)
			return err
		}
	}
	if h := undefinedHint(name); h != "" {
		err.Msg += hintSep + h
	}
	return err
}

// familyDesc names a family's scripts: "dosing automations", "custom jobs".
func familyDesc(fam Family) string {
	if fam.Type == JobType {
		return "custom jobs (scripts that declare job_name)"
	}
	return fam.Type + " automations"
}

// scriptDesc says what a script of fam is, and what made it so.
func scriptDesc(fam Family, declaredAt string) string {
	if fam.Type == JobType {
		return fmt.Sprintf("a custom job (by job_name at %s)", declaredAt)
	}
	where := "by its automation_type"
	if declaredAt != "" {
		where = "by automation_type at " + declaredAt
	}
	return fmt.Sprintf("a %s automation (%s)", fam.Type, where)
}
