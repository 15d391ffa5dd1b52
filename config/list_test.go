package config

import (
	"reflect"
	"testing"
)

func TestList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"6", []string{"6"}},
		{"6, 7,8 ", []string{"6", "7", "8"}},
		{"lab/#,, pioreactor/+/+/logs/#", []string{"lab/#", "pioreactor/+/+/logs/#"}},
	} {
		if got := List(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
