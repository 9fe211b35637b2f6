package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// Train fits a model with the named algorithm (one of Algorithms).
//
// Every algorithm goes the same way:
//
//  1. The rows are sorted by Time and the latest ValidationFraction are held out (SplitByTime);
//     the held-out rows are halved (Holdout): the earlier half tunes, the later half is only
//     measured.
//  2. The members (trees, logistic regression or both) are fitted on the training split, the
//     trees stopping early on the tuning half.
//  3. Calibration: a weighted logistic regression of the labels on the members' margins over
//     the tuning half gives the blend, Bias + Σ weight·margin, whose sigmoid is the shipped
//     probability (see Ensemble). With one member this is Platt scaling; with two it is also
//     the stacking. The weights are kept >= 0, so the map from each margin is increasing and the
//     ranking, ROC-AUC and AUPRC are those of the margins. Rows weigh as in the metrics
//     (NormalWeight), so a probability of 0.3 means about 30% at the real prevalence. The
//     tuning rows are held out from the members, so their margins there are the margins the
//     model gives transactions it has not seen, which is what a calibration must map.
//  4. The threshold is chosen on the tuning half by Config.Threshold, on the calibrated
//     probabilities, and every part is measured: Result.Validation, on the later half, is an
//     estimate for transactions after the training data that no choice has seen.
//  5. Refit (unless Config.NoRefit): the members are fitted again on every row, with every
//     choice kept: the trees grow refitRounds rounds with no early stopping, the logistic
//     regression keeps its penalty, and the blend, calibration and threshold stay as chosen.
//     The latest rows, those most like the transactions that come next, then shape the model
//     that is shipped. The refitted members are the same recipe on more rows, so on new
//     transactions their margins spread as the first members' did on the held-out rows, which
//     is what the calibration was fitted to.
//
// The manifest records the validation figures as measured before the refit, marked so, and
// the refit itself (model.Training.Refit).
func Train(ctx context.Context, tbl *dataset.Table, algo string, cfg Config) (*Result, error) {
	switch algo {
	case AlgoLogreg, AlgoGBDT, AlgoEnsemble:
		return fit(ctx, tbl, algo, cfg)
	}
	return nil, fmt.Errorf("unknown algorithm %q (known: ensemble, gbdt, logreg)", algo)
}

// members are the fitted parts of a model: trees, a logistic regression, or both.
type members struct {
	boost *boosted
	lr    *logregFit
}

// fitMembers fits the members algo calls for on p's training split.
func fitMembers(ctx context.Context, tbl *dataset.Table, p *prepared, cfg Config, algo string) (members, error) {
	var m members
	var err error
	if algo != AlgoLogreg {
		if m.boost, err = fitGBDT(ctx, tbl, p, cfg); err != nil {
			return m, err
		}
	}
	if algo != AlgoGBDT {
		if m.lr, err = fitLogreg(ctx, tbl, p, cfg); err != nil {
			return m, err
		}
	}
	return m, nil
}

// list returns the members present, trees first, as model.Members.
func (m members) list() []model.Member {
	var out []model.Member
	if m.boost != nil {
		out = append(out, m.boost.trees)
	}
	if m.lr != nil {
		out = append(out, m.lr.member)
	}
	return out
}

// refitRounds is how many trees the refit grows: the trees early stopping kept, times the
// ratio of every row to the training split's rows. It is a rule of thumb, the usual one for
// carrying an early-stopped round count over to a larger set: more rows bear a longer fit
// before it overfits.
func refitRounds(kept, trainRows, allRows int) int {
	return max(1, int(math.Round(float64(kept)*float64(allRows)/float64(trainRows))))
}

// refit fits the members again on every row of tbl (q), keeping the choices made on the
// split: the trees grow refitRounds rounds without early stopping.
func (m members) refit(ctx context.Context, tbl *dataset.Table, p, q *prepared, cfg Config) (members, error) {
	var out members
	var err error
	if m.boost != nil {
		c := cfg
		r := m.boost.report
		// Each bag regrows the mean of the bags' early-stopped counts, scaled.
		perBag := (r.Trees + r.Bags/2) / r.Bags
		c.GBDT.Rounds = refitRounds(perBag, len(p.split.Train), len(q.split.Train))
		c.GBDT.Patience = 0
		if out.boost, err = fitGBDT(ctx, tbl, q, c); err != nil {
			return out, fmt.Errorf("refit: %w", err)
		}
	}
	if m.lr != nil {
		if out.lr, err = fitLogreg(ctx, tbl, q, cfg); err != nil {
			return out, fmt.Errorf("refit: %w", err)
		}
	}
	return out, nil
}

// fit is Train for a known algorithm.
func fit(ctx context.Context, tbl *dataset.Table, algo string, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p, err := prepare(tbl, cfg)
	if err != nil {
		return nil, err
	}
	m, err := fitMembers(ctx, tbl, p, cfg, algo)
	if err != nil {
		return nil, err
	}

	// Calibration (and, with two members, stacking) on the tuning half.
	tune := p.holdout.Tune
	var z [][]float64
	for _, mem := range m.list() {
		z = append(z, memberMargins(tbl, tune, mem))
	}
	labels, weights := labelsAndWeights(tbl, p, tune)
	bias, coef, err := fitBlend(z, labels, weights)
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	res := &Result{Algorithm: algo, Blend: Blend{Bias: bias}, ClassWeight: p.classWeight}
	k := 0
	if m.boost != nil {
		res.Blend.WeightTrees = coef[k]
		k++
	}
	if m.lr != nil {
		res.Blend.WeightLogreg = coef[k]
	}
	res.setMembers(m)
	if m.boost != nil {
		res.Boosting = m.boost.report
	}
	if err := choose(tbl, p, cfg, res); err != nil {
		return nil, err
	}

	final, shipped := p, m
	if !cfg.NoRefit {
		if final, err = p.everyRow(tbl, cfg); err != nil {
			return nil, fmt.Errorf("refit: %w", err)
		}
		if shipped, err = m.refit(ctx, tbl, p, final, cfg); err != nil {
			return nil, err
		}
		res.Refit = &model.Refit{
			Rows:   len(final.split.Train),
			Frauds: final.split.TrainFrauds,
			Description: "every member was fitted again on every row, after the choices were made on the split: " +
				"the blend and calibration, the threshold and the settings are those chosen on the split, and each bag " +
				"grows the bags' mean early-stopped count times all rows / training rows; the class ratio, the " +
				"standardisation and the bins are recomputed on every row; the validation metrics were measured before the refit",
		}
		if shipped.boost != nil {
			res.Refit.Trees = shipped.boost.report.Trees
			res.Refit.RoundsPerBag = shipped.boost.report.Rounds / shipped.boost.report.Bags
		}
		res.setMembers(shipped)
		res.ClassWeight = final.classWeight
		// The shipped model on the rows it learned from.
		res.Train = measure(tbl, final, res, final.split.Train)
	}
	if err := assemble(tbl, final, cfg, res, shipped); err != nil {
		return nil, err
	}
	measured, err := model.New(res.Bundle.Manifest, m.list())
	if err != nil {
		return nil, fmt.Errorf("measured model: %w", err)
	}
	rows := p.holdout.Report
	mLabels, mWeights := labelsAndWeights(tbl, p, rows)
	res.Measured = Measured{Model: measured, Rows: rows, Labels: mLabels, Weights: mWeights}
	return res, nil
}

// setMembers makes m the members res describes.
func (r *Result) setMembers(m members) {
	r.Trees, r.Member = nil, nil
	if m.boost != nil {
		r.Trees = m.boost.trees
	}
	if m.lr != nil {
		r.Member = m.lr.member
		r.Iterations, r.Converged = m.lr.fit.iterations, m.lr.fit.converged
	}
}

// probabilities scores rows with the model res describes, in the arithmetic model.Model uses.
func probabilities(tbl *dataset.Table, res *Result, rows []int) []float64 {
	out := make([]float64, len(rows))
	var x [fraud.NumFeatures]float64
	for k, i := range rows {
		for j := range x {
			x[j] = tbl.Columns[j][i]
		}
		s := res.Blend.Bias
		if res.Trees != nil {
			s += res.Blend.WeightTrees * res.Trees.Margin(&x)
		}
		if res.Member != nil {
			s += res.Blend.WeightLogreg * res.Member.Margin(&x)
		}
		out[k] = model.Sigmoid(s)
	}
	return out
}

// measure returns the figures of the model res describes on rows, at its threshold.
func measure(tbl *dataset.Table, p *prepared, res *Result, rows []int) model.Metrics {
	labels, weights := labelsAndWeights(tbl, p, rows)
	return Evaluate(probabilities(tbl, res, rows), labels, weights, res.Threshold)
}

// choose picks the threshold on the tuning rows with the model res describes and measures
// every part of the split.
func choose(tbl *dataset.Table, p *prepared, cfg Config, res *Result) error {
	tuneLabels, tuneWeights := labelsAndWeights(tbl, p, p.holdout.Tune)
	threshold, value, err := ChooseThreshold(probabilities(tbl, res, p.holdout.Tune), tuneLabels, tuneWeights, cfg.Threshold)
	if err != nil {
		return err
	}
	res.Threshold, res.Rule, res.RuleValue = threshold, cfg.Threshold, value
	res.Split, res.Holdout = p.split, p.holdout
	res.Train = measure(tbl, p, res, p.split.Train)
	res.Tuning = measure(tbl, p, res, p.holdout.Tune)
	res.Validation = measure(tbl, p, res, p.holdout.Report)
	res.ValidationAll = measure(tbl, p, res, p.split.Validation)
	return nil
}

// calibrationMethod says in the manifest how the margins become probabilities.
func calibrationMethod(res *Result) string {
	what := "Platt scaling: a weighted logistic regression of the labels on the member's margin"
	if res.Trees != nil && res.Member != nil {
		what = "stacking: a weighted logistic regression of the labels on the members' margins"
	}
	return what + ", fitted on the tuning half of the validation split (held out from the members), " +
		"normal rows weighted by weight_normal so that probabilities are at the real prevalence; " +
		"weights kept >= 0, so the ranking is the margins'"
}

// assemble builds res.Bundle from the shipped members m, fitted on q's training rows.
func assemble(tbl *dataset.Table, q *prepared, cfg Config, res *Result, m members) error {
	var specs []model.MemberSpec
	var preprocessing []model.Preprocessing
	files := map[string][]byte{}
	params := map[string]any{
		"weight_normal":          cfg.NormalWeight,
		"validation_fraction":    cfg.ValidationFraction,
		"validation_holdout":     res.Holdout.String(),
		"threshold_rule":         cfg.Threshold.String() + ", on the tuning half of the validation split",
		"threshold_metric":       string(cfg.Threshold.Metric),
		"threshold_metric_value": res.RuleValue,
		"tuning_metrics":         res.Tuning,
		"validation_all_metrics": res.ValidationAll,
		"refit":                  !cfg.NoRefit,
		"calibration": map[string]any{
			"method":        calibrationMethod(res),
			"l2":            blendL2,
			"bias":          res.Blend.Bias,
			"weight_trees":  res.Blend.WeightTrees,
			"weight_logreg": res.Blend.WeightLogreg,
		},
	}
	if cfg.RecencyHalfLife > 0 {
		params["recency_half_life"] = cfg.RecencyHalfLife
	}
	if cfg.Threshold.Metric == ThresholdCost {
		params["cost_fn"], params["cost_fp"] = cfg.Threshold.CostFN, cfg.Threshold.CostFP
	}
	if tbl.WeightColumn != "" {
		params["weight_column"] = tbl.WeightColumn
	}
	if m.boost != nil {
		data, err := json.Marshal(m.boost.trees)
		if err != nil {
			return err
		}
		files[treesFile] = data
		specs = append(specs, model.MemberSpec{Kind: model.KindTrees, File: treesFile, Weight: res.Blend.WeightTrees})
		// The boosting as chosen on the split; the refit's trees are in Training.Refit.
		params["gbdt"] = (&boosted{report: res.Boosting}).params(cfg)
	}
	if m.lr != nil {
		data, err := json.Marshal(m.lr.member)
		if err != nil {
			return err
		}
		files[logregFile] = data
		specs = append(specs, model.MemberSpec{Kind: model.KindLogreg, File: logregFile, Weight: res.Blend.WeightLogreg})
		preprocessing = append(preprocessing, m.lr.preprocessing(q))
		params["logreg"] = m.lr.params(cfg, q)
	}
	kind := model.KindEnsemble
	switch {
	case m.boost == nil:
		kind = model.KindLogreg
	case m.lr == nil:
		kind = model.KindTrees
	}
	validationModel := "the shipped model"
	if res.Refit != nil {
		validationModel = "measured before the refit: the members fitted on the training split, with the shipped calibration and threshold"
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6672617564))
	res.Bundle = model.Bundle{
		Manifest: model.Manifest{
			Name:          cfg.Name,
			Version:       cfg.Version,
			Kind:          kind,
			Features:      fraud.FeatureNames(),
			Preprocessing: preprocessing,
			Threshold:     res.Threshold,
			Metrics:       model.Evaluation{Training: res.Train, Validation: res.Validation, ValidationModel: validationModel},
			Training: model.Training{
				Algorithm: res.Algorithm,
				Params:    params,
				Data:      tbl.Name,
				Rows:      tbl.Rows(),
				Split:     res.Split.String(),
				Seed:      cfg.Seed,
				Refit:     res.Refit,
			},
			CreatedAt: cfg.CreatedAt.UTC(),
			Members:   specs,
			Bias:      res.Blend.Bias,
			Canaries:  canaries(tbl, q.split.Train, q.mean, q.scale, rng),
		},
		Files:     files,
		Reference: reference(tbl, q, cfg),
		Drift:     driftSample(tbl, q, cfg),
	}
	return nil
}

// driftSample is every row the shipped members were fitted on, each weighing as in the
// metrics: the training distribution the bundle records for drift.
func driftSample(tbl *dataset.Table, q *prepared, cfg Config) *model.DriftSample {
	s := &model.DriftSample{
		Rows:    make([][fraud.NumFeatures]float64, 0, len(q.split.Train)),
		Weights: make([]float64, 0, len(q.split.Train)),
	}
	for _, i := range q.split.Train {
		if q.weights[i] == 0 {
			continue
		}
		var x [fraud.NumFeatures]float64
		for j := range x {
			x[j] = tbl.Columns[j][i]
		}
		s.Rows = append(s.Rows, x)
		s.Weights = append(s.Weights, q.weights[i])
	}
	weighed := fmt.Sprintf("normal rows weigh weight_normal (%g), frauds 1", cfg.NormalWeight)
	if tbl.WeightColumn != "" {
		weighed = fmt.Sprintf("rows weigh their %s, normal ones times weight_normal (%g)", tbl.WeightColumn, cfg.NormalWeight)
	}
	s.Description = fmt.Sprintf("the %d rows of %s the shipped members were fitted on, in %d weighted quantile bins; %s",
		len(s.Rows), tbl.Name, model.DriftBins, weighed)
	return s
}

// reference draws the bundle's reference sample: up to model.MaxReferenceRows of the rows the
// shipped members were fitted on, uniformly (the same rows for the same seed), each weighing as
// in the metrics, so that the importance measured on it is at the real prevalence.
func reference(tbl *dataset.Table, q *prepared, cfg Config) *model.Reference {
	s := model.NewReferenceSampler(uint64(cfg.Seed), model.MaxReferenceRows)
	var x [fraud.NumFeatures]float64
	for _, i := range q.split.Train {
		for j := range x {
			x[j] = tbl.Columns[j][i]
		}
		s.Add(&x, q.weights[i])
	}
	weighed := fmt.Sprintf("normal rows weigh weight_normal (%g), frauds 1", cfg.NormalWeight)
	if tbl.WeightColumn != "" {
		weighed = fmt.Sprintf("rows weigh their %s, normal ones times weight_normal (%g)", tbl.WeightColumn, cfg.NormalWeight)
	}
	r := s.Reference("")
	r.Description = fmt.Sprintf("a uniform sample of %d of the %d rows of %s the shipped members were fitted on (reservoir sampling, seed %d); %s",
		len(r.Rows), s.Seen(), tbl.Name, cfg.Seed, weighed)
	return r
}

// prepared is what every fit starts from: the split, the row weights and the moments of the
// rows the members are fitted on.
type prepared struct {
	split   Split
	holdout Holdout
	// weights holds every table row's weight in the metrics: its table weight, times
	// NormalWeight for a normal row.
	weights []float64
	// fitWeights holds every row's weight in the members' fits: for the rows the members are
	// fitted on, weights scaled so that each class weighs as many rows as it has, times the
	// recency factor (see fitOn).
	fitWeights []float64
	// classWeight is the fitted rows' total normal fit weight over their total fraud fit
	// weight: the balance the members learn at.
	classWeight float64
	// priorShift is log(real odds of normal / fitted odds of normal) over the fitted rows: the
	// members subtract it from their margins, so that these are log-odds at the real prior.
	priorShift float64
	// mean and scale are the fitted rows' feature means and population standard deviations
	// (1 for a constant feature).
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
	if err := p.fitOn(tbl, cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// everyRow returns the view of p in which every row is a training row and none is held out:
// what the members are refitted on.
func (p *prepared) everyRow(tbl *dataset.Table, cfg Config) (*prepared, error) {
	all := make([]int, 0, tbl.Rows())
	all = append(append(all, p.split.Train...), p.split.Validation...)
	q := &prepared{
		split:   Split{Train: all, Cut: math.Inf(1), TrainFrauds: p.split.TrainFrauds + p.split.ValidationFrauds},
		weights: p.weights,
	}
	if err := q.fitOn(tbl, cfg); err != nil {
		return nil, err
	}
	return q, nil
}

// fitOn sets the fit weights, class ratios and moments of p's training rows.
//
// The members learn from the classes as the file samples them: within a class rows weigh
// their weight (table weight times NormalWeight), scaled so that the class weighs as many rows
// as it has in the file. A file whose normal class was downsampled thus trains the members at
// its own balance, which ranks better: on the cut protocol's dev part, fitting with the normal
// rows of creditcard-sample-train.csv weighted 56.863 lowered the mean ROC-AUC by 0.003 and
// the AUPRC at the real prevalence by 0.006, as undersampling helps a classifier in Dal
// Pozzolo et al. (2015). The members' margins are then moved to the real prior (priorShift),
// and the calibration, the threshold and every figure weigh the rows as they stand, so the
// probabilities are at the real prevalence. Recency (Config.RecencyHalfLife) then multiplies
// the fit weights.
func (p *prepared) fitOn(tbl *dataset.Table, cfg Config) error {
	rows := p.split.Train
	var sum, count [2]float64
	for _, i := range rows {
		if p.weights[i] > 0 {
			sum[tbl.Labels[i]] += p.weights[i]
			count[tbl.Labels[i]]++
		}
	}
	if !(sum[0] > 0 && sum[1] > 0) || math.IsInf(sum[0]+sum[1], 0) {
		return fmt.Errorf("%s: the training split's frauds weigh %g and its normal rows %g: both must be positive and finite", tbl.Name, sum[1], sum[0])
	}
	p.fitWeights = make([]float64, len(p.weights))
	copy(p.fitWeights, p.weights)
	for _, i := range rows {
		c := tbl.Labels[i]
		p.fitWeights[i] = p.weights[i] * count[c] / sum[c]
	}
	if h := cfg.RecencyHalfLife; h > 0 && len(rows) > 0 {
		times := tbl.Times()
		latest := times[rows[len(rows)-1]]
		for _, i := range rows {
			p.fitWeights[i] *= math.Exp2(-(latest - times[i]) / h)
		}
	}
	var fit [2]float64
	for _, i := range rows {
		fit[tbl.Labels[i]] += p.fitWeights[i]
	}
	if !(fit[0] > 0 && fit[1] > 0) {
		return fmt.Errorf("%s: the training split's recency-weighted frauds weigh %g and its normal rows %g: both must be positive", tbl.Name, fit[1], fit[0])
	}
	p.classWeight = fit[0] / fit[1]
	p.priorShift = math.Log(sum[0]/sum[1]) - math.Log(p.classWeight)

	n := float64(len(rows))
	for j := range p.mean {
		col := tbl.Columns[j]
		var s float64
		for _, i := range rows {
			s += col[i]
		}
		mu := s / n
		var ss float64
		for _, i := range rows {
			d := col[i] - mu
			ss += d * d
		}
		sd := math.Sqrt(ss / n)
		if !(sd > 1e-12*max(1, math.Abs(mu))) {
			sd = 1
		}
		p.mean[j], p.scale[j] = mu, sd
	}
	return nil
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
