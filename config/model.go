package config

import (
	"sort"
	"strings"
)

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

// modelNames lists the known models, sorted.
func modelNames() []string {
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Model returns the configured bioreactor model, [bioreactor] model; an
// unknown one is an *Error naming where it was set.
func (c *Config) Model() (Model, error) {
	s := c.lookup("bioreactor", "model")
	m, ok := models[s.value]
	if !ok {
		return Model{}, s.errorf("bioreactor", "model", "want a known model (%s), got %s",
			strings.Join(modelNames(), ", "), quote(s.value))
	}
	return m, nil
}
