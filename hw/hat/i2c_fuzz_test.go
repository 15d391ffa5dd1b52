package hat

import (
	"math"
	"testing"
)

// FuzzChipDecoders feeds raw register bytes to every decoder: none may
// panic, a wrong length is an error, and two bytes decode within each
// chip's range.
func FuzzChipDecoders(f *testing.F) {
	for _, seed := range [][]byte{{0x19, 0x00}, {0xFF, 0x80}, {0x85, 0x83}, {0x40, 0x1F}, {0x05, 0x00}, {0xFF, 0xFF}, {}, {0x01}, {0, 0, 0}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, errT := DecodeTMP1075(b)
		raw, errA := DecodeADSConversion(b)
		cfg, errC := DecodeADSConfig(b)
		p, errP := DecodePicoADC(b)
		fw, errV := DecodePicoVersion(b)
		dc, errD := DecodeDACConfig(b)
		if len(b) != 2 {
			for _, err := range []error{errT, errA, errC, errP, errV, errD} {
				if err == nil {
					t.Fatalf("% X: a decoder accepted %d bytes", b, len(b))
				}
			}
			return
		}
		if errT != nil || errA != nil || errC != nil || errP != nil || errD != nil {
			t.Fatalf("% X: two bytes refused", b)
		}
		if c < -128 || c >= 128 || math.Mod(c, 0.0625) != 0 {
			t.Errorf("DecodeTMP1075(% X) = %v; outside −128…127.9375 in 1/16 steps", b, c)
		}
		if want := uint16(b[0])<<8 | uint16(b[1]); uint16(raw) != want || cfg != want || dc != want {
			t.Errorf("% X: big-endian decodes %d, %04X, %04X", b, raw, cfg, dc)
		}
		if p != uint16(b[1])<<8|uint16(b[0]) {
			t.Errorf("DecodePicoADC(% X) = %d; not little-endian", b, p)
		}
		if errV == nil && (fw.Major != 0 || fw.Minor == 0) {
			t.Errorf("DecodePicoVersion(% X) accepted %v", b, fw)
		}
		for _, g := range []Gain{GainTwoThirds, Gain1, Gain16} {
			v, err := ADSRawToVolts(raw, g)
			fsr, _ := g.FSR()
			if err != nil || math.Abs(v) > fsr*32768/32767 {
				t.Errorf("ADSRawToVolts(%d, %v) = %v, %v", raw, g, v, err)
			}
		}
		if v := PicoRawToVolts(p, 32); v < 0 || v > PicoWrapVolts {
			t.Errorf("PicoRawToVolts(%d) = %v", p, v)
		}
	})
}
