package temperature

import (
	"fmt"
	"time"

	"github.com/piolab/pio/config"
)

// Limits are a bioreactor model's heating limits, in °C of the heating PCB,
// from upstream's models table (config.Model has no heating columns; these
// are kept here, by model name).
type Limits struct {
	// ReduceAbove: a reading above it multiplies the heater's duty by 0.9.
	// It is also MaxTargetTemperature.
	ReduceAbove float64
	// DisableAbove: a reading above it turns the heater off, with a warning.
	DisableAbove float64
	// ShutdownAbove: a reading above it turns the heater off and stops the
	// job (upstream powers the Raspberry Pi off; pio does not).
	ShutdownAbove float64
}

// MaxTargetTemperature is the highest target a thermostat accepts: the
// temperature at which heating starts to be reduced.
func (l Limits) MaxTargetTemperature() float64 { return l.ReduceAbove }

// limitsByModel is upstream's table for the v1.1 and later PCBs of every
// model pio knows (the 20 ml v1.0 PCB, 63/65/66 °C, has no model name in
// pio: pio's models carry no version).
var limitsByModel = map[string]Limits{
	"pioreactor_20ml":    {78, 80, 85},
	"pioreactor_20ml_XR": {78, 80, 85},
	"pioreactor_40ml":    {78, 80, 85},
	"pioreactor_40ml_XR": {78, 80, 85},
}

// LimitsOf returns the heating limits of a bioreactor model.
func LimitsOf(m config.Model) (Limits, error) {
	l, ok := limitsByModel[m.Name]
	if !ok {
		return Limits{}, fmt.Errorf("temperature_automation: no heating limits are known for bioreactor model %q", m.Name)
	}
	return l, nil
}

// The timing of the temperature inference (upstream's, for every model but
// the 20 ml v1.0): InferenceSamples readings InferenceSpacing apart with the
// heater off, every InferenceEvery, the first one InferenceEvery −
// InferenceSamples×InferenceSpacing after start (95 s), so that a program
// has a full heating window before the first measurement. The heating PCB is
// also read every CheckEvery (53 s, coprime with 200) for the safety check.
const (
	InferenceSamples = 21
	InferenceSpacing = 5 * time.Second
	InferenceEvery   = 200 * time.Second
	CheckEvery       = 53 * time.Second
	// FirstInference is when the first inference starts after Run starts.
	FirstInference = InferenceEvery - InferenceSamples*InferenceSpacing
)

// The raw read: the mean of rawSamples readings rawSpacing apart.
const (
	rawSamples = 6
	rawSpacing = 50 * time.Millisecond
)

// coefficients are upstream's linear temperature model (models
// pioreactor_20ml v1.1+, every pioreactor_40ml and unknown models), in the
// order of the features: the previous duty cycle, the 21 readings, the
// first reading squared, and the 20th reading times the duty cycle, every
// one divided by 35 first.
var coefficients = [InferenceSamples + 3]float64{
	-13.7221255, 150.807347, 15.2808570, -71.7124615, -81.5352596, -58.2053398,
	-84.9915201, -36.9729300, -0.0851994806, 11.2635670, 33.7434235, 33.6348041,
	42.5731033, 67.2551219, 83.7883314, 62.9508694, 49.5735854, 18.6594862,
	0.312848519, -38.2815596, -56.2834504, -92.7840943, -7.62113224, 8.18877406,
}

const intercept = -6.171633633597331

// Infer estimates the vial's temperature from the heating PCB's readings
// taken with the heater off (InferenceSamples of them, InferenceSpacing
// apart) and the duty cycle the heater had before: with no heating before,
// the PCB is at the vial's temperature and the last reading is the answer;
// else upstream's linear model. The result is rounded to 2 decimals.
func Infer(dcPrev float64, readings []float64) (float64, error) {
	if len(readings) != InferenceSamples {
		return 0, fmt.Errorf("temperature inference: got %d readings, want %d", len(readings), InferenceSamples)
	}
	if dcPrev == 0 {
		return round2(readings[len(readings)-1]), nil
	}
	var x [InferenceSamples + 3]float64
	x[0] = dcPrev / 35
	for i, r := range readings {
		x[i+1] = r / 35
	}
	x[InferenceSamples+1] = x[1] * x[1]
	x[InferenceSamples+2] = x[20] * x[0]
	t := intercept
	for i, c := range coefficients {
		t += c * x[i]
	}
	return round2(t), nil
}
