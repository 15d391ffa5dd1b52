package script

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Description is what a script declares, read from its syntax without
// running it: for pio scripts list and show, and for a UI that builds a
// settings form from the file alone. It encodes as JSON.
type Description struct {
	// Family is dosing, temperature, led, job (a custom job), library (a
	// module of helpers that scripts load, IsLibraryModule) or tests (a
	// script's FILE_test.star, IsTestFile).
	Family string `json:"family"`
	// Name is the job_name or automation_name, else the file's stem.
	Name       string        `json:"name"`
	APIVersion int           `json:"api_version"`
	Metadata   Metadata      `json:"metadata"`
	Requires   Requires      `json:"requires"`
	Settings   []SettingInfo `json:"settings"`
	// Warnings are what the header lacks (no api_version).
	Warnings []Diagnostic `json:"warnings,omitempty"`
}

// SettingInfo is one setting and its schema. Type is float, int, number
// (an int default, which takes any number), bool or string.
type SettingInfo struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Default     any      `json:"default"`
	Required    bool     `json:"required,omitempty"`
	Unit        string   `json:"unit,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Choices     []any    `json:"choices,omitempty"`
	Description string   `json:"description,omitempty"`
	// Computed is a setting whose declaration is not literal (it uses
	// names): its schema is known only when the script runs.
	Computed bool `json:"computed,omitempty"`
}

// Describe reads a script's family, name, header and settings from its
// syntax. It fails on a syntax error, a wrong header or family
// declaration: what a start would refuse before running anything.
// Settings whose declarations are not literals are listed as Computed.
func Describe(path string, src []byte) (*Description, error) {
	file := baseName(path)
	f, err := FileOptions.Parse(file, src, 0)
	if err != nil {
		return nil, parseError(err, src)
	}
	header, err := headerError(f)
	if err != nil {
		return nil, err
	}
	fam, _, err := detectFamily(f)
	if err != nil {
		return nil, err
	}
	d := &Description{Family: fam.Type, Name: strings.TrimSuffix(file, filepath.Ext(file)),
		APIVersion: header.APIVersion, Metadata: header.Metadata, Requires: header.Requires,
		Settings: []SettingInfo{}, Warnings: header.Warnings}
	switch {
	case IsTestFile(path):
		d.Family, d.Warnings = "tests", nil
	case IsLibraryModule(f):
		d.Family, d.Warnings = "library", nil
	}
	for _, stmt := range f.Stmts {
		assign, ok := stmt.(*syntax.AssignStmt)
		if !ok || assign.Op != syntax.EQ {
			continue
		}
		switch lhs := assign.LHS.(type) {
		case *syntax.Ident:
			if name, ok := stringLit(assign.RHS); ok && (lhs.Name == "automation_name" || lhs.Name == "job_name") {
				d.Name = name
			}
			if dict, ok := assign.RHS.(*syntax.DictExpr); ok && lhs.Name == "settings" {
				for _, e := range dict.List {
					entry := e.(*syntax.DictEntry)
					d.addSetting(entry.Key, entry.Value)
				}
			}
		case *syntax.IndexExpr:
			if id, ok := lhs.X.(*syntax.Ident); ok && id.Name == "settings" {
				d.addSetting(lhs.Y, assign.RHS)
			}
		}
	}
	return d, nil
}

// addSetting describes one settings entry: a literal key, and a value
// evaluated without any names (a literal, or arithmetic of literals).
func (d *Description) addSetting(key, value syntax.Expr) {
	name, ok := stringLit(key)
	if !ok {
		return
	}
	v, err := evalLiteral(value)
	if err != nil {
		d.Settings = append(d.Settings, SettingInfo{Name: name, Computed: true})
		return
	}
	decl, err := settingDecl(name, v)
	if err != nil {
		d.Settings = append(d.Settings, SettingInfo{Name: name, Computed: true})
		return
	}
	d.Settings = append(d.Settings, SettingInfo{
		Name: name, Type: schemaName(decl.Datatype), Default: decl.Default, Required: decl.Default == nil,
		Unit: decl.Unit, Min: decl.Min, Max: decl.Max, Choices: decl.Choices, Description: decl.Description,
	})
}

// literalSteps bounds the evaluation of a setting's declaration.
const literalSteps = 10_000

// evalLiteral evaluates an expression made of literals only: strings,
// numbers and arithmetic on numbers (60 * 24), True, False, None, and
// lists, tuples and dicts of them. Anything else ("x" * 900000000 too: a step of the
// interpreter, and a GB of memory) is computed, and Describe does not
// compute.
func evalLiteral(e syntax.Expr) (starlark.Value, error) {
	if !isLiteral(e) {
		return nil, fmt.Errorf("not a literal")
	}
	th := &starlark.Thread{Name: "describe"}
	th.SetMaxExecutionSteps(literalSteps)
	return starlark.EvalExprOptions(FileOptions, th, e, nil)
}

// isLiteral reports whether e is made of literals only (evalLiteral).
func isLiteral(e syntax.Expr) bool {
	switch x := e.(type) {
	case *syntax.Literal:
		return true
	case *syntax.Ident:
		return x.Name == "True" || x.Name == "False" || x.Name == "None"
	case *syntax.UnaryExpr, *syntax.BinaryExpr:
		return isNumber(e)
	case *syntax.ParenExpr:
		return isLiteral(x.X)
	case *syntax.ListExpr:
		for _, el := range x.List {
			if !isLiteral(el) {
				return false
			}
		}
		return true
	case *syntax.TupleExpr:
		for _, el := range x.List {
			if !isLiteral(el) {
				return false
			}
		}
		return true
	case *syntax.DictExpr:
		for _, el := range x.List {
			kv := el.(*syntax.DictEntry)
			if !isLiteral(kv.Key) || !isLiteral(kv.Value) {
				return false
			}
		}
		return true
	}
	return false
}

// isNumber reports whether e is a number literal, or arithmetic on them.
func isNumber(e syntax.Expr) bool {
	switch x := e.(type) {
	case *syntax.Literal:
		return x.Token == syntax.INT || x.Token == syntax.FLOAT
	case *syntax.ParenExpr:
		return isNumber(x.X)
	case *syntax.UnaryExpr:
		return (x.Op == syntax.MINUS || x.Op == syntax.PLUS) && isNumber(x.X)
	case *syntax.BinaryExpr:
		switch x.Op {
		case syntax.PLUS, syntax.MINUS, syntax.STAR, syntax.SLASH, syntax.SLASHSLASH, syntax.PERCENT:
			return isNumber(x.X) && isNumber(x.Y)
		}
	}
	return false
}
