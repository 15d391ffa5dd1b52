// Package scripthw lets automation scripts open external hardware: a PWM
// channel of the board, a GPIO line, a device on an I²C bus and a serial
// port, as the Starlark module hw (module.go). Access is deny by default:
// [scripts.hardware] lists what scripts may open (grants.go), and a Session
// (session.go) checks every open against it, keeps what a job opened, and
// halts and closes it all when the job ends. Devices are reached through the
// Devices interface: Real on a unit, fakes in tests.
package scripthw

import (
	"io"

	"github.com/piolab/pio/hw"
)

// Devices opens the hardware a script asks for; the Session has checked the
// grant first.
type Devices interface {
	// OpenPWM opens a PWM channel of the board at hz.
	OpenPWM(channel int, hz float64) (hw.PWM, error)
	// OpenGPIO opens a BCM GPIO line as an output (out) or an input.
	OpenGPIO(pin int, out bool) (GPIO, error)
	OpenI2C(bus int, addr uint16) (I2C, error)
	OpenSerial(port string, baud int) (io.ReadWriteCloser, error)
}

// GPIO is one digital line.
type GPIO interface {
	String() string
	// Write drives an output line; an input refuses it.
	Write(high bool) error
	Read() (bool, error)
	// Close drives an output low and releases the line.
	Close() error
}

// I2C is one device on an I²C bus.
type I2C interface {
	String() string
	// Tx writes w, then reads len(r) bytes, in one combined transfer.
	Tx(w, r []byte) error
	Close() error
}
