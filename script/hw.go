package script

import (
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/scripthw"
	"github.com/piolab/pio/scripthw/periph"
)

// HardwareDevices gives a dosing automation's scripts their devices: the
// board's PWM channels through the runtime, serial ports, and GPIO and I²C
// through periph's registries. Tests replace it with fakes.
var HardwareDevices = func(a *dosing.Automation) scripthw.Devices {
	return scripthw.Real{Env: a.Env(), Client: a.Client(), Experiment: a.Experiment, Job: dosing.JobName,
		GPIO: periph.OpenGPIO, I2C: periph.OpenI2C}
}

// Hardware implements builtins.HardwareHost: the automation's session, made
// on first use from [scripts.hardware] and closed by scripthw.Release(a.Job)
// when the automation's Run returns.
func (h *host) Hardware() (*scripthw.Session, error) {
	return scripthw.SessionFor(h.a.Job, func() (*scripthw.Session, error) {
		g, err := scripthw.ReadGrants(h.a.Env().Config)
		if err != nil {
			return nil, err
		}
		return scripthw.NewSession(g, HardwareDevices(h.a)), nil
	})
}
