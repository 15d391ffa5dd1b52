package script

import (
	"fmt"

	"go.starlark.net/resolve"
	"go.starlark.net/syntax"
)

// checkSettingsReads refuses a script that reads the settings dict: it holds
// the defaults written in the file, frozen at load, so settings["volume"]
// would silently ignore --volume and .../volume/set. A script reads a
// setting's current value with setting("volume").
//
// The settings global may only be assigned at the top level, as a whole
// (settings = {...}) or by key (settings["volume"] = 0.5); any other
// reference to it, in a function or at the top level, is refused with the
// setting() to write instead. f must be resolved (Starlark's FileProgram).
func checkSettingsReads(f *syntax.File) error {
	allowed := map[*syntax.Ident]bool{}
	for _, stmt := range f.Stmts {
		assign, ok := stmt.(*syntax.AssignStmt)
		if !ok || assign.Op != syntax.EQ {
			continue
		}
		switch lhs := assign.LHS.(type) {
		case *syntax.Ident:
			allowed[lhs] = true
		case *syntax.IndexExpr:
			if id, ok := lhs.X.(*syntax.Ident); ok {
				allowed[id] = true
			}
		}
	}
	// The key each reference reads, when it is settings["k"] or
	// settings.get("k", ...): Walk visits an expression before its parts.
	keys := map[*syntax.Ident]string{}
	var err error
	syntax.Walk(f, func(n syntax.Node) bool {
		if err != nil {
			return false
		}
		switch x := n.(type) {
		case *syntax.IndexExpr:
			if id, ok := x.X.(*syntax.Ident); ok {
				if lit, ok := x.Y.(*syntax.Literal); ok && lit.Token == syntax.STRING {
					keys[id] = lit.Value.(string)
				}
			}
		case *syntax.CallExpr:
			if dot, ok := x.Fn.(*syntax.DotExpr); ok && dot.Name.Name == "get" && len(x.Args) > 0 {
				if id, ok := dot.X.(*syntax.Ident); ok {
					if lit, ok := x.Args[0].(*syntax.Literal); ok && lit.Token == syntax.STRING {
						keys[id] = lit.Value.(string)
					}
				}
			}
		case *syntax.Ident:
			if x.Name != "settings" || allowed[x] {
				return true
			}
			if b, ok := x.Binding.(*resolve.Binding); !ok || b.Scope != resolve.Global {
				return true // a local or parameter of that name
			}
			err = settingsReadError(x, keys[x])
		}
		return true
	})
	return err
}

func settingsReadError(id *syntax.Ident, key string) error {
	if key == "" {
		return &Error{Pos: id.NamePos.String(), Msg: `settings holds the defaults written in the file, not the current values (--<name>, .../<name>/set): read a setting with setting("<name>")`}
	}
	return &Error{Pos: id.NamePos.String(), Msg: fmt.Sprintf(`settings[%q] reads the default written in the file, not the current value (--%s, .../%s/set): write setting(%q)`, key, key, key, key)}
}
