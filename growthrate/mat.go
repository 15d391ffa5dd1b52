package growthrate

import "math"

// vec3 and mat3 are the filter's state and covariances: three states, so
// small fixed-size arrays with hand-written products, no allocations.
type (
	vec3 [3]float64
	mat3 [3][3]float64
)

// diag3 is the diagonal matrix of a, b, c.
func diag3(a, b, c float64) mat3 {
	return mat3{{a, 0, 0}, {0, b, 0}, {0, 0, c}}
}

// mulVec is m·v.
func (m *mat3) mulVec(v vec3) vec3 {
	var out vec3
	for i := range 3 {
		out[i] = m[i][0]*v[0] + m[i][1]*v[1] + m[i][2]*v[2]
	}
	return out
}

// mul is m·n.
func (m *mat3) mul(n *mat3) mat3 {
	var out mat3
	for i := range 3 {
		for j := range 3 {
			out[i][j] = m[i][0]*n[0][j] + m[i][1]*n[1][j] + m[i][2]*n[2][j]
		}
	}
	return out
}

// transpose is mᵀ.
func (m *mat3) transpose() mat3 {
	var out mat3
	for i := range 3 {
		for j := range 3 {
			out[i][j] = m[j][i]
		}
	}
	return out
}

// add is m + n.
func (m *mat3) add(n *mat3) mat3 {
	var out mat3
	for i := range 3 {
		for j := range 3 {
			out[i][j] = m[i][j] + n[i][j]
		}
	}
	return out
}

// positiveDefinite reports whether m is symmetric and has a Cholesky
// factor, as upstream checks its covariances.
func (m *mat3) positiveDefinite() bool {
	for i := range 3 {
		for j := range i {
			if m[i][j] != m[j][i] {
				return false
			}
		}
	}
	var l mat3
	for i := range 3 {
		for j := 0; j <= i; j++ {
			s := m[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if !(s > 0) {
					return false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	return true
}

// finite reports whether every element of v is a finite number.
func (v vec3) finite() bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
