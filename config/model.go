package config

import "fmt"

// Model is a bioreactor model's geometry, as upstream's models table gives it.
type Model struct {
	Name       string
	CapacityML float64 // bound of the liquid model's volume
	MaxFillML  float64 // volume at which dosing stops
}

// WarnML is the volume at which a dosing automation warns: 95 % of max fill.
func (m Model) WarnML() float64 { return 0.95 * m.MaxFillML }

var models = map[string]Model{
	"pioreactor_20ml":    {"pioreactor_20ml", 20, 18},
	"pioreactor_20ml_XR": {"pioreactor_20ml_XR", 20, 18},
	"pioreactor_40ml":    {"pioreactor_40ml", 40, 36},
	"pioreactor_40ml_XR": {"pioreactor_40ml_XR", 40, 36},
}

// Model returns the configured bioreactor model.
func (c *Config) Model() (Model, error) {
	name := c.String("bioreactor", "model", "pioreactor_40ml")
	m, ok := models[name]
	if !ok {
		return Model{}, fmt.Errorf("config: [bioreactor] model: unknown model %q (known: pioreactor_20ml, pioreactor_20ml_XR, pioreactor_40ml, pioreactor_40ml_XR)", name)
	}
	return m, nil
}
