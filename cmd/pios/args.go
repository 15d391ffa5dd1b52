package main

import "strings"

// cmdline is a pios command's arguments after its name: positional ones,
// the selectors and the flags pios knows, and (for run and run-script) the
// job's options.
type cmdline struct {
	pos     []string
	units   []string
	exps    []string
	home    string
	config  string
	leader  string
	bools   map[string]bool
	options map[string]any // --name value (nil: a bare flag), names with _ for -
}

// parseArgs reads args. boolFlags are the command's own flags without a
// value; with options, any other --name [value] is a job option, else it is
// an error.
func parseArgs(args []string, options bool, boolFlags ...string) (cmdline, error) {
	cl := cmdline{bools: map[string]bool{}, options: map[string]any{}}
	isBool := map[string]bool{}
	for _, b := range boolFlags {
		isBool[b] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || (!strings.HasPrefix(a, "--") && len(a) > 1 && (a[1] >= '0' && a[1] <= '9' || a[1] == '.')) {
			cl.pos = append(cl.pos, a)
			continue
		}
		if a == "--" {
			cl.pos = append(cl.pos, args[i+1:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "" {
			return cl, usageError("%q is not a flag", a)
		}
		if isBool[name] {
			if hasValue {
				return cl, usageError("--%s takes no value", name)
			}
			cl.bools[name] = true
			continue
		}
		// next takes the flag's value from the next argument.
		next := func() (string, bool) {
			if hasValue {
				return value, true
			}
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				return args[i], true
			}
			return "", false
		}
		switch name {
		case "units", "experiments", "home", "config", "leader":
			v, ok := next()
			if !ok || v == "" {
				return cl, usageError("--%s needs a value", name)
			}
			switch name {
			case "units":
				cl.units = append(cl.units, splitList(v)...)
			case "experiments":
				cl.exps = append(cl.exps, splitList(v)...)
			case "home":
				cl.home = v
			case "config":
				cl.config = v
			case "leader":
				cl.leader = v
			}
		case "h", "help":
			cl.bools["help"] = true
		default:
			if !options {
				return cl, usageError("unknown flag --%s", name)
			}
			key := strings.ReplaceAll(name, "-", "_")
			if v, ok := next(); ok {
				cl.options[key] = v
			} else {
				cl.options[key] = nil
			}
		}
	}
	return cl, nil
}

// splitList splits a comma list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
