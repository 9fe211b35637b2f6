package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
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

// Train fits a model with the named algorithm (one of Algorithms).
func Train(ctx context.Context, tbl *dataset.Table, algo string, cfg Config) (*Result, error) {
	switch algo {
	case AlgoLogreg:
		return Logreg(ctx, tbl, cfg)
	case AlgoGBDT:
		return GBDT(ctx, tbl, cfg)
	case AlgoEnsemble:
		return Ensemble(ctx, tbl, cfg)
	}
	return nil, fmt.Errorf("unknown algorithm %q (known: ensemble, gbdt, logreg)", algo)
}

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
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p, err := prepare(tbl, cfg)
	if err != nil {
		return nil, err
	}
	boost, err := fitGBDT(ctx, tbl, p, cfg)
	if err != nil {
		return nil, err
	}
	lr, err := fitLogreg(ctx, tbl, p, cfg)
	if err != nil {
		return nil, err
	}
	tune := p.holdout.Tune
	z := [][]float64{
		memberMargins(tbl, tune, boost.trees),
		memberMargins(tbl, tune, lr.member),
	}
	labels, weights := labelsAndWeights(tbl, p, tune)
	bias, coef, err := fitBlend(z, labels, weights)
	if err != nil {
		return nil, fmt.Errorf("blend: %w", err)
	}
	res := &Result{
		Algorithm:   AlgoEnsemble,
		Member:      lr.member,
		Trees:       boost.trees,
		Boosting:    boost.report,
		Blend:       Blend{Bias: bias, WeightTrees: coef[0], WeightLogreg: coef[1]},
		Iterations:  lr.fit.iterations,
		Converged:   lr.fit.converged,
		ClassWeight: p.classWeight,
	}
	treesData, err := json.Marshal(boost.trees)
	if err != nil {
		return nil, err
	}
	lrData, err := json.Marshal(lr.member)
	if err != nil {
		return nil, err
	}
	params := map[string]any{
		"gbdt":   boost.params(cfg),
		"logreg": lr.params(cfg, p),
		"blend": map[string]any{
			"method": "stacking: weighted logistic regression of the labels on the members' margins, " +
				"fitted on the tuning half of the validation split; negative weights dropped to 0",
			"l2":            blendL2,
			"bias":          bias,
			"weight_trees":  coef[0],
			"weight_logreg": coef[1],
		},
	}
	spec := bundleSpec{
		kind: model.KindEnsemble,
		members: []model.MemberSpec{
			{Kind: model.KindTrees, File: treesFile, Weight: coef[0]},
			{Kind: model.KindLogreg, File: logregFile, Weight: coef[1]},
		},
		files:         map[string][]byte{treesFile: treesData, logregFile: lrData},
		preprocessing: []model.Preprocessing{lr.preprocessing(p)},
		params:        params,
		bias:          bias,
	}
	if err := finish(tbl, p, cfg, res, spec); err != nil {
		return nil, err
	}
	return res, nil
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

// prepared is what every algorithm starts from: the split, the row weights and the training
// split's moments.
type prepared struct {
	split   Split
	holdout Holdout
	// weights holds every table row's weight: its table weight, times NormalWeight for a
	// normal row.
	weights []float64
	// classWeight is the training split's total normal weight over its total fraud weight.
	classWeight float64
	// mean and scale are the training split's feature means and population standard
	// deviations (1 for a constant feature).
	mean, scale [fraud.NumFeatures]float64
}

// logregFraudWeight is the weight the logistic regression gives fraud rows on top of their row
// weights.
func (p *prepared) logregFraudWeight() float64 {
	return math.Pow(p.classWeight, LogregFraudWeightPower)
}

func prepare(tbl *dataset.Table, cfg Config) (*prepared, error) {
	if tbl.Weights != nil && len(tbl.Weights) != tbl.Rows() {
		return nil, fmt.Errorf("%s: %d row weights for %d rows", tbl.Name, len(tbl.Weights), tbl.Rows())
	}
	split, err := SplitByTime(tbl, cfg.ValidationFraction)
	if err != nil {
		return nil, err
	}
	p := &prepared{split: split, holdout: halveValidation(tbl, split.Validation), weights: make([]float64, tbl.Rows())}
	for i := range p.weights {
		w := tbl.Weight(i)
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("%s: row %d has weight %v, want a finite number >= 0", tbl.Name, i, w)
		}
		if tbl.Labels[i] == 0 {
			w *= cfg.NormalWeight
		}
		p.weights[i] = w
	}
	var wPos, wNeg float64
	for _, i := range split.Train {
		if tbl.Labels[i] == 1 {
			wPos += p.weights[i]
		} else {
			wNeg += p.weights[i]
		}
	}
	if !(wPos > 0 && wNeg > 0) || math.IsInf(wPos+wNeg, 0) {
		return nil, fmt.Errorf("%s: the training split's frauds weigh %g and its normal rows %g: both must be positive and finite", tbl.Name, wPos, wNeg)
	}
	p.classWeight = wNeg / wPos

	n := float64(len(split.Train))
	for j := range p.mean {
		col := tbl.Columns[j]
		var s float64
		for _, i := range split.Train {
			s += col[i]
		}
		mu := s / n
		var ss float64
		for _, i := range split.Train {
			d := col[i] - mu
			ss += d * d
		}
		sd := math.Sqrt(ss / n)
		if !(sd > 1e-12*max(1, math.Abs(mu))) {
			sd = 1
		}
		p.mean[j], p.scale[j] = mu, sd
	}
	return p, nil
}

// labelsAndWeights returns the labels and weights of rows.
func labelsAndWeights(tbl *dataset.Table, p *prepared, rows []int) ([]uint8, []float64) {
	labels := make([]uint8, len(rows))
	weights := make([]float64, len(rows))
	for k, i := range rows {
		labels[k] = tbl.Labels[i]
		weights[k] = p.weights[i]
	}
	return labels, weights
}

// memberMargins returns m's margin for each of rows.
func memberMargins(tbl *dataset.Table, rows []int, m model.Member) []float64 {
	out := make([]float64, len(rows))
	var x [fraud.NumFeatures]float64
	for k, i := range rows {
		for j := range x {
			x[j] = tbl.Columns[j][i]
		}
		out[k] = m.Margin(&x)
	}
	return out
}

// bundleSpec is what an algorithm contributes to its bundle; finish adds the rest.
type bundleSpec struct {
	kind          string
	members       []model.MemberSpec
	files         map[string][]byte
	preprocessing []model.Preprocessing
	params        map[string]any
	bias          float64
}

// finish scores the splits with the model res describes (its Member and Trees blended as spec
// says, in the arithmetic model.Model uses), chooses the threshold on the tuning rows, measures
// every part and assembles the bundle.
func finish(tbl *dataset.Table, p *prepared, cfg Config, res *Result, spec bundleSpec) error {
	members := make([]model.Member, len(spec.members))
	for k, ms := range spec.members {
		switch ms.Kind {
		case model.KindTrees:
			members[k] = res.Trees
		case model.KindLogreg:
			members[k] = res.Member
		default:
			return fmt.Errorf("member kind %q", ms.Kind)
		}
	}
	probability := func(rows []int) []float64 {
		out := make([]float64, len(rows))
		var x [fraud.NumFeatures]float64
		for k, i := range rows {
			for j := range x {
				x[j] = tbl.Columns[j][i]
			}
			s := spec.bias
			for m, mem := range members {
				s += spec.members[m].Weight * mem.Margin(&x)
			}
			out[k] = model.Sigmoid(s)
		}
		return out
	}
	measure := func(rows []int, threshold float64) model.Metrics {
		labels, weights := labelsAndWeights(tbl, p, rows)
		return Evaluate(probability(rows), labels, weights, threshold)
	}

	tuneLabels, tuneWeights := labelsAndWeights(tbl, p, p.holdout.Tune)
	threshold, value, err := ChooseThreshold(probability(p.holdout.Tune), tuneLabels, tuneWeights, cfg.Threshold)
	if err != nil {
		return err
	}
	res.Threshold, res.Rule, res.RuleValue = threshold, cfg.Threshold, value
	res.Split, res.Holdout = p.split, p.holdout
	res.Train = measure(p.split.Train, threshold)
	res.Tuning = measure(p.holdout.Tune, threshold)
	res.Validation = measure(p.holdout.Report, threshold)
	res.ValidationAll = measure(p.split.Validation, threshold)

	params := map[string]any{
		"weight_normal":          cfg.NormalWeight,
		"validation_fraction":    cfg.ValidationFraction,
		"validation_holdout":     p.holdout.String(),
		"threshold_rule":         cfg.Threshold.String() + ", on the tuning half of the validation split",
		"threshold_metric":       string(cfg.Threshold.Metric),
		"threshold_metric_value": value,
		"tuning_metrics":         res.Tuning,
		"validation_all_metrics": res.ValidationAll,
	}
	if cfg.Threshold.Metric == ThresholdCost {
		params["cost_fn"], params["cost_fp"] = cfg.Threshold.CostFN, cfg.Threshold.CostFP
	}
	if tbl.WeightColumn != "" {
		params["weight_column"] = tbl.WeightColumn
	}
	for k, v := range spec.params {
		if _, dup := params[k]; dup {
			return fmt.Errorf("parameter %q set twice", k)
		}
		params[k] = v
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6672617564))
	res.Bundle = model.Bundle{
		Manifest: model.Manifest{
			Name:          cfg.Name,
			Version:       cfg.Version,
			Kind:          spec.kind,
			Features:      fraud.FeatureNames(),
			Preprocessing: spec.preprocessing,
			Threshold:     threshold,
			Metrics:       model.Evaluation{Training: res.Train, Validation: res.Validation},
			Training: model.Training{
				Algorithm: res.Algorithm,
				Params:    params,
				Data:      tbl.Name,
				Rows:      tbl.Rows(),
				Split:     p.split.String(),
				Seed:      cfg.Seed,
			},
			CreatedAt: cfg.CreatedAt.UTC(),
			Members:   spec.members,
			Bias:      spec.bias,
			Canaries:  canaries(tbl, p.split.Train, p.mean, p.scale, rng),
		},
		Files: spec.files,
	}
	return nil
}

// fitBlend fits the stacking regression y ~ sigmoid(bias + Σ_k coef[k]·z[k]) with row weights
// w, keeping every coefficient >= 0: when the unconstrained fit gives a negative one, every
// subset of the members is fitted and the non-negative fit of least loss is kept (there are
// only two members). Members left out get coefficient 0.
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
		if err == nil {
			err = errors.New("no blend with non-negative weights fits")
		}
		return 0, nil, err
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
