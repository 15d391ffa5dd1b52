package dosing

import (
	"math"
	"strings"
	"testing"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
)

func TestCheckDoses(t *testing.T) {
	model := config.Model{Name: "pioreactor_40ml", CapacityML: 40, MaxFillML: 36}
	d := func(kv ...any) []payload.Dose {
		var out []payload.Dose
		for i := 0; i < len(kv); i += 2 {
			out = append(out, payload.Dose{Key: kv[i].(string), ML: kv[i+1].(float64)})
		}
		return out
	}
	tests := []struct {
		name  string
		waste float64
		doses []payload.Dose
		want  string
	}{
		{"a dose", 2, d("media_ml", 1.0), ""},
		{"1e308", 1e308, d("media_ml", 1e308), "waste_ml=1e+308 is more than one execute_io_action may move: the vial's capacity, 40.0 mL ([bioreactor] model pioreactor_40ml)"},
		{"1e308 media", 40, d("media_ml", 1e308), "media_ml=1e+308 is more than one execute_io_action may move"},
		{"two halves of too much", 40, d("media_ml", 30.0, "alt_media_ml", 30.0), "the doses add 60.0 mL, more than one execute_io_action may add"},
		{"infinite", 1, d("media_ml", math.Inf(1)), "media_ml must be a finite number of mL, got +Inf"},
		{"negative", 1, d("media_ml", -1.0), "media_ml must not be negative"},
		{"too little waste", 0.5, d("media_ml", 1.0), "Not removing enough waste"},
	}
	for _, tt := range tests {
		err := checkDoses(tt.waste, tt.doses, model)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}
