package scripthw

import (
	"fmt"
	"io"

	"go.bug.st/serial"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

// Real reaches a unit's hardware: PWM channels through the runtime (the
// board's controller, reserved for the job and published on pwms/dc like
// every output, so it works on the simulator too), serial ports through
// go.bug.st/serial, GPIO and I²C through the functions given (package
// scripthw/periph on a Raspberry Pi); a nil function is an error that says
// so.
type Real struct {
	Env        *runtime.Env
	Client     pubsub.Client
	Experiment string
	// Job names the holder of the PWM channels ("dosing_automation").
	Job  string
	GPIO func(pin int, out bool) (GPIO, error)
	I2C  func(bus int, addr uint16) (I2C, error)
}

var _ Devices = Real{}

// OpenPWM implements Devices.
func (r Real) OpenPWM(channel int, hz float64) (hw.PWM, error) {
	return r.Env.OpenPWM(r.Client, r.Experiment, channel, hz, r.Job)
}

// OpenGPIO implements Devices.
func (r Real) OpenGPIO(pin int, out bool) (GPIO, error) {
	if r.GPIO == nil {
		return nil, fmt.Errorf("GPIO%d: this unit has no GPIO driver (a Raspberry Pi's)", pin)
	}
	return r.GPIO(pin, out)
}

// OpenI2C implements Devices.
func (r Real) OpenI2C(bus int, addr uint16) (I2C, error) {
	if r.I2C == nil {
		return nil, fmt.Errorf("I²C bus %d: this unit has no I²C driver (a Raspberry Pi's)", bus)
	}
	return r.I2C(bus, addr)
}

// OpenSerial implements Devices: 8 data bits, no parity, 1 stop bit, and
// DTR and RTS as the driver sets them on open.
func (Real) OpenSerial(port string, baud int) (io.ReadWriteCloser, error) {
	p, err := serial.Open(port, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("opening %s at %d baud: %w", port, baud, err)
	}
	return p, nil
}
