package calibration

import "math"

// Poly is a polynomial as upstream stores it (curve_data_ of type poly):
// coefficients highest power first, as numpy.polyval takes them. [a, b] is
// a·x + b; [a, b, c] is a·x² + b·x + c.
type Poly []float64

// Eval is the polynomial's value at x (Horner's rule).
func (p Poly) Eval(x float64) float64 {
	y := 0.0
	for _, c := range p {
		y = y*x + c
	}
	return y
}

// Deriv is the polynomial's derivative.
func (p Poly) Deriv() Poly {
	if len(p) <= 1 {
		return Poly{0}
	}
	d := make(Poly, len(p)-1)
	n := len(p) - 1
	for i := range d {
		d[i] = p[i] * float64(n-i)
	}
	return d
}

// Degree is the polynomial's degree once leading zero coefficients are
// dropped (0 for a constant or an empty polynomial).
func (p Poly) Degree() int {
	for i, c := range p {
		if c != 0 {
			return len(p) - 1 - i
		}
	}
	return 0
}

// bisect finds x in [lo, hi] with p(x) = y, given that p(lo) - y and
// p(hi) - y have opposite signs (or one is zero). It halves the bracket
// until it cannot shrink further in float64.
func (p Poly) bisect(y, lo, hi float64) float64 {
	flo := p.Eval(lo) - y
	if flo == 0 {
		return lo
	}
	if p.Eval(hi)-y == 0 {
		return hi
	}
	for i := 0; i < 2000; i++ {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		fmid := p.Eval(mid) - y
		if fmid == 0 {
			return mid
		}
		if (fmid < 0) == (flo < 0) {
			lo, flo = mid, fmid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}

// Solve returns an x with p(x) = y for a curve measured over [lo, hi]
// (lo < hi) that rises across it, as a pump's volume rises with its running
// time. Within the measured range it is the root there, found by
// bisection. Above it, the nearest root beyond hi, found by widening a
// bracket; below it, a root between floor and lo. ok is false when there is
// none: above, the curve never reaches y (it turns back down); below, the
// curve is already above y at floor.
func (p Poly) Solve(y, lo, hi, floor float64) (x float64, ok bool) {
	ylo, yhi := p.Eval(lo), p.Eval(hi)
	switch {
	case y >= ylo && y <= yhi:
		return p.bisect(y, lo, hi), true
	case y > yhi:
		span := hi - lo
		from := hi
		for i := 0; i < 64; i++ {
			to := hi + span*math.Exp2(float64(i))
			if math.IsInf(to, 0) {
				break
			}
			if p.Eval(to) >= y {
				return p.bisect(y, from, to), true
			}
			from = to
		}
		return 0, false
	default:
		if floor < lo && p.Eval(floor) <= y {
			return p.bisect(y, floor, lo), true
		}
		return 0, false
	}
}
