package train

import (
	"errors"
	"math"
)

// errNotPositiveDefinite is returned by cholesky for a matrix that is not (numerically)
// symmetric positive definite.
var errNotPositiveDefinite = errors.New("matrix is not positive definite")

// cholesky overwrites the lower triangle of the symmetric n×n row-major matrix a with L, where
// a = L·Lᵀ. The upper triangle is not read.
func cholesky(a []float64, n int) error {
	for j := range n {
		d := a[j*n+j]
		for k := range j {
			d -= a[j*n+k] * a[j*n+k]
		}
		if !(d > 0) {
			return errNotPositiveDefinite
		}
		d = math.Sqrt(d)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			s := a[i*n+j]
			for k := range j {
				s -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = s / d
		}
	}
	return nil
}

// cholSolve solves L·Lᵀ·x = b in place of b, with L from cholesky.
func cholSolve(l []float64, n int, b []float64) {
	for i := range n {
		s := b[i]
		for k := range i {
			s -= l[i*n+k] * b[k]
		}
		b[i] = s / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < n; k++ {
			s -= l[k*n+i] * b[k]
		}
		b[i] = s / l[i*n+i]
	}
}

// solveSPD solves a·x = b for the symmetric positive semi-definite a, returning x; a and b are
// not modified. When a is singular to working precision (a separable direction with no
// penalty, a constant feature) it is damped with μ·I, μ growing from 1e-12 of the largest
// diagonal entry until the factorisation succeeds: the step stays a descent direction and the
// result stays deterministic.
func solveSPD(a []float64, n int, b []float64) ([]float64, error) {
	scale := 0.0
	for i := range n {
		scale = max(scale, math.Abs(a[i*n+i]))
	}
	if scale == 0 || math.IsNaN(scale) || math.IsInf(scale, 0) {
		return nil, errNotPositiveDefinite
	}
	work := make([]float64, len(a))
	x := make([]float64, n)
	for mu := 0.0; mu <= scale; {
		copy(work, a)
		for i := range n {
			work[i*n+i] += mu
		}
		if cholesky(work, n) == nil {
			copy(x, b)
			cholSolve(work, n, x)
			return x, nil
		}
		if mu == 0 {
			mu = 1e-12 * scale
		} else {
			mu *= 100
		}
	}
	return nil, errNotPositiveDefinite
}
