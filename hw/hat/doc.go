// Package hat drives the Pioreactor HAT and heating PCB on a Raspberry Pi:
// the chips on its I²C bus (this file's neighbours ads1115.go, ads1114.go,
// picoadc.go, dac43608.go, tmp1075.go) and its PWM outputs, hall sensor and
// monitor GPIO (pwm*.go, softpwm*.go, sysfs*.go, rpm*.go, gpio*.go).
//
// Every driver is written on periph.io/x/conn/v3 interfaces only (i2c.Bus,
// gpio pins), so the tests replay the exact bus traffic with i2ctest.Playback
// and gpiotest; opening the real bus (periph.io/x/host) is left to the board
// that wires these drivers together.
//
// The I²C chips and what each implements:
//
//	ADS1115   0x48       4-input ADC (HAT ≤ 1.0)               hw.ADC, one value per input
//	ADS1114   0x48–0x4B  1-input ADC (v1.5 optics)             hw.ADC
//	RP2040    0x2C       HAT MCU, firmware 0.x (HAT 1.1/1.2)   hw.ADC (PicoADC), hw.LEDs (PicoLEDs)
//	DAC43608  0x49       LED driver (HAT ≤ 1.0)                hw.LEDs
//	TMP1075   0x4F       heating PCB thermometer               hw.Thermometer
//
// The chips share one I2CBus, which serialises each chip-level operation
// (an ADS1115 single-shot conversion, a DAC43608 read-modify-write) per
// address, retries transient bus errors a bounded number of times, counts
// errors per address, and waits on an injected clock. Errors name the chip,
// its address and the bus. docs/hardware.md ("Chips") lists the register
// traffic and each decision taken on an upstream quirk.
package hat
