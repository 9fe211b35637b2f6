package synth

import (
	"errors"
	"math"
)

// packedIndex is the position of element (i, j), j <= i, of a lower-triangular matrix stored
// row by row.
func packedIndex(i, j int) int { return i*(i+1)/2 + j }

// cholesky factors the symmetric positive-definite n×n matrix a (row-major) into the packed
// lower-triangular L with a = L·Lᵀ.
func cholesky(a []float64, n int) ([]float64, error) {
	l := make([]float64, n*(n+1)/2)
	for i := range n {
		for j := 0; j <= i; j++ {
			s := a[i*n+j]
			for k := range j {
				s -= l[packedIndex(i, k)] * l[packedIndex(j, k)]
			}
			if i == j {
				if s <= 0 || math.IsNaN(s) {
					return nil, errors.New("matrix is not positive definite")
				}
				l[packedIndex(i, i)] = math.Sqrt(s)
			} else {
				l[packedIndex(i, j)] = s / l[packedIndex(j, j)]
			}
		}
	}
	return l, nil
}

// logDetFromChol returns log det(L·Lᵀ) for packed lower-triangular L of size n.
func logDetFromChol(l []float64, n int) float64 {
	s := 0.0
	for i := range n {
		s += math.Log(l[packedIndex(i, i)])
	}
	return 2 * s
}

// mahalanobis2 returns |L⁻¹(x-mean)|², using tmp (length n) as scratch.
func mahalanobis2(l, mean, x, tmp []float64) float64 {
	n := len(mean)
	q := 0.0
	for i := range n {
		s := x[i] - mean[i]
		row := l[packedIndex(i, 0):]
		for k := range i {
			s -= row[k] * tmp[k]
		}
		tmp[i] = s / row[i]
		q += tmp[i] * tmp[i]
	}
	return q
}
