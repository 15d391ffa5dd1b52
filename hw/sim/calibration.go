package sim

import "github.com/piolab/pio/calibration"

// FactoryPumpCalibration gives every pump of the simulated reactor its
// nominal flow as calibration, as if calibrated at the factory. The runtime
// uses it for a pump with no active calibration; real boards have no such
// fallback, so dosing by mL on hardware needs a calibration.
func (r *Reactor) FactoryPumpCalibration(device string) (calibration.Pump, bool) {
	return calibration.Pump{Name: "simulated", Device: device + "_pump", Slope: r.NominalMLPerSecond(), Hz: 250, DC: 100}, true
}
