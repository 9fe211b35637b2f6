package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/model"
)

// The training algorithms.
const (
	// AlgoLogreg is a logistic regression alone (see Logreg).
	AlgoLogreg = algorithmLogreg
	// AlgoGBDT is gradient-boosted trees alone (see GBDT).
	AlgoGBDT = "gbdt"
	// AlgoEnsemble is both, blended in log-odds (see Ensemble).
	AlgoEnsemble = "ensemble"
	// DefaultAlgorithm is what fraudguard trains unless told otherwise.
	DefaultAlgorithm = AlgoEnsemble
)

// Algorithms returns the algorithms Train knows, the default first.
func Algorithms() []string { return []string{AlgoEnsemble, AlgoGBDT, AlgoLogreg} }

// treesFile is the name of the tree member's file in a bundle.
const treesFile = model.TreesFile

// blendL2 is the L2 penalty on the standardised blend weights, relative to the mean weighted
// log-loss: small, it keeps the fit finite when the tuning rows are separable.
const blendL2 = 1e-3

// Blend is how a model combines its members' margins: the probability of fraud is
// sigmoid(Bias + WeightTrees·margin_trees + WeightLogreg·margin_logreg). It is linear in
// log-odds, so that the members' contributions add up.
type Blend struct {
	Bias         float64
	WeightTrees  float64
	WeightLogreg float64
}

// Ensemble fits gradient-boosted trees (see GBDT) and a logistic regression (see Logreg) on the
// same training split with the same row weights, and blends them in log-odds space:
//
//	margin = Bias + WeightTrees·margin_trees + WeightLogreg·margin_logreg
//
// The blend is stacking: (Bias, WeightTrees, WeightLogreg) are fitted by a weighted logistic
// regression of the labels on the two margins (Newton's method; a small L2 penalty, blendL2,
// on the weights times their margins' standard deviations; row weights as in the metrics, so
// the probabilities are calibrated to the real prior), on the tuning half of the validation
// split (see Holdout), which the members never trained on. The trees' early stopping watched
// those rows too, which flatters the trees' margins there a little. A weight that comes out
// negative is dropped to 0 and the rest refitted, so each member only ever pushes its own way.
// The threshold is chosen on the same tuning half, and the figures in Result.Validation come
// from the later half, which no choice has seen.
//
// The bundle holds both members, kind model.KindEnsemble.
func Ensemble(ctx context.Context, tbl *dataset.Table, cfg Config) (*Result, error) {
	return fit(ctx, tbl, AlgoEnsemble, cfg)
}

// Holdout says how the validation split's rows are shared out. The earlier half by Time, Tune,
// is where choices are made: early stopping, the blend weights and the threshold. The later
// half, Report, is only measured: its figures are an honest estimate for transactions that come
// after everything the model has seen. Rows sharing the Time at the cut all go to Report.
type Holdout struct {
	// Tune and Report are row indices, each in time order.
	Tune, Report []int
	// Cut is the Time from which validation rows are Report rows.
	Cut float64
	// Halved is false when the validation split cannot be halved with both classes in each
	// half: Tune and Report are then both the whole split, and the figures are optimistic.
	Halved bool
}

// String describes the holdout for the manifest.
func (h Holdout) String() string {
	if !h.Halved {
		return fmt.Sprintf("the validation split (%d rows) is too small to halve with both classes in each half: "+
			"early stopping, blend and threshold were tuned on it and its figures are optimistic", len(h.Tune))
	}
	return fmt.Sprintf("validation rows with Time < %g (%d rows) tune early stopping, the blend and the threshold; "+
		"the %d rows with Time >= %g are only measured (the validation metrics)", h.Cut, len(h.Tune), len(h.Report), h.Cut)
}

// halveValidation splits the validation rows (in time order) into Holdout's halves.
func halveValidation(tbl *dataset.Table, rows []int) Holdout {
	times := tbl.Times()
	whole := Holdout{Tune: rows, Report: rows}
	if len(rows) > 0 {
		whole.Cut = times[rows[0]]
	}
	k := len(rows) / 2
	for k > 0 && k < len(rows) && times[rows[k-1]] == times[rows[k]] {
		k--
	}
	if k <= 0 || k >= len(rows) {
		return whole
	}
	for _, part := range [][]int{rows[:k], rows[k:]} {
		frauds := 0
		for _, i := range part {
			frauds += int(tbl.Labels[i])
		}
		if frauds == 0 || frauds == len(part) {
			return whole
		}
	}
	return Holdout{Tune: rows[:k], Report: rows[k:], Cut: times[rows[k]], Halved: true}
}

// fitBlend fits the stacking regression y ~ sigmoid(bias + Σ_k coef[k]·z[k]) with row weights
// w, keeping every coefficient >= 0: when the unconstrained fit gives a negative one, every
// subset of the members is fitted and the non-negative fit of least loss is kept (there are
// only two members). Members left out get coefficient 0. When no member has a non-negative
// fit (their margins rank the tuning rows backwards), every coefficient is 0 and the bias is
// the log-odds of the rows' weighted fraud rate: the model then answers the prior, which the
// caller reports.
func fitBlend(z [][]float64, y []uint8, w []float64) (bias float64, coef []float64, err error) {
	k := len(z)
	bestLoss := math.Inf(1)
	found := false
	// Subsets by bit mask, the full set first; a smaller subset is only tried when needed.
	for mask := 1<<k - 1; mask > 0; mask-- {
		var cols [][]float64
		var idx []int
		for m := range k {
			if mask&(1<<m) != 0 {
				cols = append(cols, z[m])
				idx = append(idx, m)
			}
		}
		theta, loss, ferr := fitStack(cols, y, w, blendL2)
		if ferr != nil {
			err = ferr
			continue
		}
		ok := true
		for _, c := range theta[1:] {
			ok = ok && c >= 0
		}
		if !ok || !(loss < bestLoss) {
			continue
		}
		bestLoss, found = loss, true
		bias = theta[0]
		coef = make([]float64, k)
		for a, m := range idx {
			coef[m] = theta[a+1]
		}
		if mask == 1<<k-1 {
			break // the unconstrained fit is feasible: it is the optimum
		}
	}
	if !found {
		if err != nil {
			return 0, nil, err
		}
		var pos, total float64
		for i, v := range w {
			total += v
			pos += v * float64(y[i])
		}
		if !(pos > 0 && pos < total) {
			return 0, nil, errors.New("the tuning rows need both classes")
		}
		return math.Log(pos / (total - pos)), make([]float64, k), nil
	}
	return bias, coef, nil
}

// fitStack minimises the mean weighted log-loss of sigmoid(θ0 + Σ θ_k·z_k) plus
// (l2/2)·Σ_{k≥1} θ_k² by Newton's method with backtracking, and returns θ and the objective.
func fitStack(z [][]float64, y []uint8, w []float64, l2 float64) ([]float64, float64, error) {
	d := len(z) + 1
	n := len(y)
	var total float64
	for _, v := range w {
		total += v
	}
	if !(total > 0) {
		return nil, 0, errors.New("the tuning rows weigh nothing")
	}
	// The penalty is on the standardised coefficients θ_k·sd(z_k), so that it does not favour
	// the member whose margins spread wider.
	scale := make([]float64, d)
	for k := range z {
		var mean, ss float64
		for i, v := range z[k] {
			mean += w[i] * v
		}
		mean /= total
		for i, v := range z[k] {
			ss += w[i] * (v - mean) * (v - mean)
		}
		scale[k+1] = math.Sqrt(ss / total)
	}
	theta := make([]float64, d)
	trial := make([]float64, d)
	row := make([]float64, d)
	objective := func(th []float64) float64 {
		var sum float64
		for i := range n {
			e := th[0]
			for k := range z {
				e += th[k+1] * z[k][i]
			}
			sum += w[i] * (softplus(e) - float64(y[i])*e)
		}
		var pen float64
		for k := 1; k < d; k++ {
			pen += th[k] * scale[k] * th[k] * scale[k]
		}
		return sum/total + l2/2*pen
	}
	obj := objective(theta)
	for range 100 {
		grad := make([]float64, d)
		hess := make([]float64, d*d)
		for i := range n {
			row[0] = 1
			for k := range z {
				row[k+1] = z[k][i]
			}
			e := 0.0
			for a := range d {
				e += theta[a] * row[a]
			}
			pr := model.Sigmoid(e)
			g := w[i] / total * (pr - float64(y[i]))
			h := w[i] / total * pr * (1 - pr)
			for a := range d {
				grad[a] += g * row[a]
				for b := range d {
					hess[a*d+b] += h * row[a] * row[b]
				}
			}
		}
		for a := 1; a < d; a++ {
			grad[a] += l2 * scale[a] * scale[a] * theta[a]
			hess[a*d+a] += l2 * scale[a] * scale[a]
		}
		step, err := solveSPD(hess, d, grad)
		if err != nil {
			return nil, 0, err
		}
		decrement := 0.0
		for a := range d {
			decrement += grad[a] * step[a]
		}
		if decrement/2 <= 1e-14 {
			break
		}
		t := 1.0
		next := obj
		for range 60 {
			for a := range d {
				trial[a] = theta[a] - t*step[a]
			}
			next = objective(trial)
			if next <= obj-1e-4*t*decrement {
				break
			}
			t /= 2
		}
		if !(next < obj) {
			break
		}
		copy(theta, trial)
		obj = next
	}
	for _, c := range theta {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, 0, errors.New("the blend diverged")
		}
	}
	return theta, obj, nil
}
