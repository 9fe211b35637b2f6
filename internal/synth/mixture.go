package synth

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// mixture is a Gaussian mixture with full covariances; chols are packed lower-triangular.
type mixture struct {
	weights []float64
	means   [][]float64
	chols   [][]float64
}

// emOptions tune fitMixture.
type emOptions struct {
	components int
	maxIter    int
	// tol stops EM when the mean log-likelihood per row improves by less than it.
	tol float64
	// prior is the weight, in rows, of the pooled covariance of all the data in each
	// component's covariance. It keeps small components from collapsing onto a few
	// (sometimes duplicated) rows, which would make them generate near-copies of real rows.
	prior float64
}

// fitMixture fits a Gaussian mixture to x by EM and returns it with the mean log-likelihood
// per row. It is deterministic: the start splits the rows into equal groups along their
// principal axis, so no randomness is involved.
func fitMixture(x [][]float64, opt emOptions) (mixture, float64, error) {
	n := len(x)
	if n == 0 {
		return mixture{}, 0, errors.New("no rows")
	}
	k := opt.components
	if k < 1 {
		return mixture{}, 0, fmt.Errorf("components: got %d, want >= 1", k)
	}
	all := make([]float64, n)
	for i := range all {
		all[i] = 1
	}
	_, pooled := weightedMoments(x, all)

	resp := make([][]float64, k) // resp[c][i]
	for c := range resp {
		resp[c] = make([]float64, n)
	}
	for rank, i := range principalOrder(x, pooled) {
		resp[rank*k/n][i] = 1
	}

	var m mixture
	prev := math.Inf(-1)
	ll := prev
	for iter := 0; iter < opt.maxIter; iter++ {
		var err error
		m, err = mStep(x, resp, pooled, opt.prior)
		if err != nil {
			return mixture{}, 0, err
		}
		ll = eStep(x, m, resp)
		if ll-prev < opt.tol {
			break
		}
		prev = ll
	}
	return m, ll, nil
}

// weightedMoments returns the weighted mean and covariance (row-major d×d) of x.
func weightedMoments(x [][]float64, w []float64) ([]float64, []float64) {
	d := len(x[0])
	mean := make([]float64, d)
	total := 0.0
	for i, row := range x {
		total += w[i]
		for j, v := range row {
			mean[j] += w[i] * v
		}
	}
	for j := range mean {
		mean[j] /= total
	}
	cov := make([]float64, d*d)
	diff := make([]float64, d)
	for i, row := range x {
		if w[i] == 0 {
			continue
		}
		for j := range row {
			diff[j] = row[j] - mean[j]
		}
		for a := range d {
			wa := w[i] * diff[a]
			for b := 0; b <= a; b++ {
				cov[a*d+b] += wa * diff[b]
			}
		}
	}
	for a := range d {
		for b := 0; b <= a; b++ {
			cov[a*d+b] /= total
			cov[b*d+a] = cov[a*d+b]
		}
	}
	return mean, cov
}

// principalOrder returns the row indices of x sorted by their projection on the leading
// eigenvector of cov, found by power iteration from a fixed start.
func principalOrder(x [][]float64, cov []float64) []int {
	d := len(x[0])
	v := make([]float64, d)
	for j := range v {
		v[j] = 1 / math.Sqrt(float64(d))
	}
	next := make([]float64, d)
	for range 200 {
		norm := 0.0
		for a := range d {
			s := 0.0
			for b := range d {
				s += cov[a*d+b] * v[b]
			}
			next[a] = s
			norm += s * s
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			break
		}
		for a := range d {
			v[a] = next[a] / norm
		}
	}
	proj := make([]float64, len(x))
	idx := make([]int, len(x))
	for i, row := range x {
		idx[i] = i
		for j, val := range row {
			proj[i] += v[j] * val
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case proj[a] < proj[b]:
			return -1
		case proj[a] > proj[b]:
			return 1
		}
		return 0
	})
	return idx
}

func mStep(x [][]float64, resp [][]float64, pooled []float64, prior float64) (mixture, error) {
	n := float64(len(x))
	d := len(x[0])
	var m mixture
	for c := range resp {
		nk := 0.0
		for _, r := range resp[c] {
			nk += r
		}
		if nk < 1e-9 {
			// An empty component carries no information; drop it.
			continue
		}
		mean, cov := weightedMoments(x, resp[c])
		for a := range cov {
			cov[a] = (nk*cov[a] + prior*pooled[a]) / (nk + prior)
		}
		// A tiny ridge guards against a pooled covariance that is itself singular.
		for a := range d {
			cov[a*d+a] += 1e-9 * (1 + pooled[a*d+a])
		}
		l, err := cholesky(cov, d)
		if err != nil {
			return mixture{}, fmt.Errorf("component %d covariance: %w", c, err)
		}
		m.weights = append(m.weights, nk/n)
		m.means = append(m.means, mean)
		m.chols = append(m.chols, l)
	}
	return m, nil
}

// eStep fills resp (resized to the mixture's components) and returns the mean log-likelihood.
func eStep(x [][]float64, m mixture, resp [][]float64) float64 {
	k := len(m.weights)
	for c := k; c < len(resp); c++ {
		clear(resp[c])
	}
	d := len(x[0])
	logc := make([]float64, k)
	for c := range k {
		logc[c] = math.Log(m.weights[c]) - 0.5*(float64(d)*math.Log(2*math.Pi)+logDetFromChol(m.chols[c], d))
	}
	tmp := make([]float64, d)
	lp := make([]float64, k)
	total := 0.0
	for i, row := range x {
		best := math.Inf(-1)
		for c := range k {
			lp[c] = logc[c] - 0.5*mahalanobis2(m.chols[c], m.means[c], row, tmp)
			best = max(best, lp[c])
		}
		s := 0.0
		for c := range k {
			s += math.Exp(lp[c] - best)
		}
		lse := best + math.Log(s)
		total += lse
		for c := range k {
			resp[c][i] = math.Exp(lp[c] - lse)
		}
	}
	return total / float64(len(x))
}
