package topic

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"pioreactor/#", "pioreactor/u/e/job/x", true},
		{"pioreactor/+/+/dosing_events", "pioreactor/u/e/dosing_events", true},
		{"pioreactor/u/+/dosing_events", "pioreactor/v/e/dosing_events", false},
		{"pioreactor/u/e/job/+/set", "pioreactor/u/e/job/$state/set", true},
		{"pioreactor/u/e/job/+/set", "pioreactor/u/e/job/x", false},
		{"pioreactor/u/e/job/+/set", "pioreactor/u/e/job/x/set/more", false},
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/#", "a", true},
		{"+/b", "$SYS/b", false},
		{"#", "$SYS/x", false},
	}
	for _, tt := range tests {
		if got := Match(tt.filter, tt.topic); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

func TestBuilders(t *testing.T) {
	tests := []struct{ got, want string }{
		{Setting("u", "e", "job", "state"), "pioreactor/u/e/job/$state"},
		{Setting("u", "e", "job", "duration"), "pioreactor/u/e/job/duration"},
		{Set("u", "e", "job", "state"), "pioreactor/u/e/job/$state/set"},
		{DosingEvents("u", "e"), "pioreactor/u/e/dosing_events"},
		{Bioreactor("u", "e", "current_volume_ml"), "pioreactor/u/e/bioreactor/current_volume_ml"},
		{Log("u", "e", "app", "INFO"), "pioreactor/u/e/logs/app/info"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	u, e, rest, ok := Parts("pioreactor/u/e/bioreactor/x/set")
	if !ok || u != "u" || e != "e" || len(rest) != 3 || rest[2] != "set" {
		t.Errorf("Parts = %q %q %q %v", u, e, rest, ok)
	}
	if _, _, _, ok := Parts("other/u/e/x"); ok {
		t.Error("Parts accepted a foreign topic")
	}
}

func FuzzMatchSelf(f *testing.F) {
	f.Add("pioreactor/u/e/job/x")
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || containsWildcard(s) {
			return
		}
		if !Match(s, s) {
			t.Fatalf("topic %q does not match itself", s)
		}
	})
}

func containsWildcard(s string) bool {
	for _, r := range s {
		if r == '+' || r == '#' {
			return true
		}
	}
	return false
}

func TestExperiment(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"pioreactor/u1/e1/dosing_events", "e1", true},
		{"pioreactor/u1/$experiment/monitor/$state", "$experiment", true},
		{"pioreactor/u1/e1", "", false},
		{"other/u1/e1/x", "", false},
	} {
		if got, ok := Experiment(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("Experiment(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
