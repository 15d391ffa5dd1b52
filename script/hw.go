package script

import (
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/scripthw"
	"github.com/piolab/pio/scripthw/periph"
)

// HardwareDevices gives a dosing automation's scripts their devices: the
// board's PWM channels through the runtime, serial ports, and GPIO and I²C
// through periph's registries. Tests replace it with fakes.
var HardwareDevices = func(a *dosing.Automation) scripthw.Devices { return JobHardwareDevices(a.Job) }

// JobHardwareDevices gives the scripts of any automation job (temperature
// and LED automations too) their devices. Tests replace it with fakes.
var JobHardwareDevices = func(job *runtime.Job) scripthw.Devices {
	return scripthw.Real{Env: job.Env(), Client: job.Client(), Experiment: job.Experiment, Job: job.Name,
		GPIO: periph.OpenGPIO, I2C: periph.OpenI2C}
}

// jobHardware is a job's hardware session: made on first use from
// [scripts.hardware], closed by scripthw.Release(job) when the job's Run
// returns.
func jobHardware(job *runtime.Job, devices func() scripthw.Devices) (*scripthw.Session, error) {
	return scripthw.SessionFor(job, func() (*scripthw.Session, error) {
		g, err := scripthw.ReadGrants(job.Env().Config)
		if err != nil {
			return nil, err
		}
		return scripthw.NewSession(g, devices()), nil
	})
}

// Hardware implements builtins.HardwareHost for dosing scripts.
func (h *host) Hardware() (*scripthw.Session, error) {
	return jobHardware(h.a.Job, func() scripthw.Devices { return HardwareDevices(h.a) })
}

// Hardware implements builtins.HardwareHost for temperature scripts.
func (h *temperatureHost) Hardware() (*scripthw.Session, error) {
	return jobHardware(h.a.Job, func() scripthw.Devices { return JobHardwareDevices(h.a.Job) })
}

// Hardware implements builtins.HardwareHost for LED scripts.
func (h *ledHost) Hardware() (*scripthw.Session, error) {
	return jobHardware(h.a.Job, func() scripthw.Devices { return JobHardwareDevices(h.a.Job) })
}
