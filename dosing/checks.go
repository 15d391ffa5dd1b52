package dosing

import "fmt"

// SettingChecker is a Program that validates its settings' values: the
// starting value (default or --<setting>) at start, and each /set. A refused
// value fails the start, or leaves the setting as it was.
type SettingChecker interface {
	// HasCheck reports whether setting name has a check.
	HasCheck(name string) bool
	// CheckSetting returns the value to keep for name (it may normalise v),
	// or an error that refuses v.
	CheckSetting(a *Automation, name string, v any) (any, error)
}

// checkStartValues runs the program's checks on the starting values.
func (a *Automation) checkStartValues(values map[string]any) error {
	c, ok := a.prog.(SettingChecker)
	if !ok {
		return nil
	}
	for _, d := range a.prog.Settings() {
		if !c.HasCheck(d.Name) {
			continue
		}
		v, err := c.CheckSetting(a, d.Name, values[d.Name])
		if err != nil {
			return fmt.Errorf("%s: setting %s: %w", a.prog.Name(), d.Name, err)
		}
		values[d.Name] = v
	}
	return nil
}

// setHandlers are the /set handlers of the settings: duration reschedules;
// a checked setting keeps only what its check accepts.
func (a *Automation) setHandlers() map[string]func(any) error {
	set := map[string]func(any) error{"duration": a.setDuration}
	c, ok := a.prog.(SettingChecker)
	if !ok {
		return set
	}
	for _, d := range a.prog.Settings() {
		if !c.HasCheck(d.Name) {
			continue
		}
		name, next := d.Name, set[d.Name]
		set[name] = func(v any) error {
			v, err := c.CheckSetting(a, name, v)
			if err != nil {
				return err
			}
			if next != nil {
				return next(v)
			}
			a.SetValue(name, v)
			return nil
		}
	}
	return set
}
