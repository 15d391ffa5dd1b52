package script

import "testing"

func TestFStringExample(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"{v} mL"`, `"%s mL" % v or "{} mL".format(v), or fmt("%.2f mL", v) for 2 decimals`},
		{`'{name}: {v} mL at 100%'`, `'%s: %s mL at 100%%' % (name, v) or '{}: {} mL at 100%'.format(name, v)`},
		{`"{moved['media_ml']:.3f} mL"`, `fmt("%.3f mL", moved['media_ml'])`},
		{`"{a + b}"`, `"%s" % (a + b) or "{}".format(a + b), or fmt("%.2f", a + b) for 2 decimals`},
		{`"{{literal}} {v}"`, `"{literal} %s" % v or "{{literal}} {}".format(v), or fmt("{literal} %.2f", v) for 2 decimals`},
		{`"{n:5d} pulses"`, `fmt("%5d pulses", n)`},
		// Beyond a simple rewrite: the general forms.
		{`"{v!r}"`, `"%s mL" % v, fmt("%.2f mL", v) or "{} mL".format(v)`},
		{`"{v:>8}"`, `"%s mL" % v, fmt("%.2f mL", v) or "{} mL".format(v)`},
		{`"no fields"`, `"%s mL" % v, fmt("%.2f mL", v) or "{} mL".format(v)`},
		{`"{v=}"`, `"%s mL" % v, fmt("%.2f mL", v) or "{} mL".format(v)`},
	}
	for _, tt := range tests {
		if got := fStringExample(tt.in); got != tt.want {
			t.Errorf("fStringExample(%s)\n  = %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestSuggestName(t *testing.T) {
	for in, want := range map[string]string{
		"Turbidostat-2": "turbidostat_2", "My Chemostat (v3)": "my_chemostat_v3", "__x__": "x",
		"Config": "config_automation", "---": "my_automation", "ok_name": "ok_name",
	} {
		if got := suggestName(in); got != want || !automationName.MatchString(got) {
			t.Errorf("suggestName(%q) = %q, want %q", in, got, want)
		}
	}
}
