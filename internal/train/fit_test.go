package train

import (
	"math"
	"slices"
	"testing"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/model"
)

// futureRows returns every row index of tbl.
func futureRows(tbl *dataset.Table) []int {
	rows := make([]int, tbl.Rows())
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// A probability of p means a fraud rate of about p at the real prevalence, for a model trained
// on a file whose normal rows were downsampled and weighted back up, on transactions it has
// never seen.
func TestProbabilitiesAreCalibrated(t *testing.T) {
	// A tenth of the normal rows kept, each standing for ten.
	tbl := syntheticTable(t, 12000, -3, 0.1, 11)
	future := syntheticTable(t, 20000, -3, 1, 12)
	for _, algo := range Algorithms() {
		t.Run(algo, func(t *testing.T) {
			// The default boosting with one bag: the bags average alike models, and three
			// would triple the time under the race detector.
			gp := DefaultGBDTParams()
			gp.Bags = 1
			res := mustTrain(t, tbl, algo, Config{GBDT: gp, NormalWeight: 10, Seed: 1})
			rows := futureRows(future)
			p := probabilities(future, res, rows)
			// Five bins by predicted probability, each with a fifth of the rows.
			order := make([]int, len(p))
			for i := range order {
				order[i] = i
			}
			slices.SortFunc(order, func(a, b int) int { return cmpFloat(p[a], p[b]) })
			var ece float64
			for b := range 5 {
				part := order[b*len(order)/5 : (b+1)*len(order)/5]
				var sumP, frauds float64
				for _, k := range part {
					sumP += p[k]
					frauds += float64(future.Labels[rows[k]])
				}
				meanP, rate := sumP/float64(len(part)), frauds/float64(len(part))
				t.Logf("bin %d: mean probability %.4f, fraud rate %.4f", b, meanP, rate)
				ece += math.Abs(meanP-rate) / 5
				// Within a fifth of the rate, or 0.01 where the rate is small.
				if math.Abs(meanP-rate) > max(0.01, 0.2*rate) {
					t.Errorf("bin %d: got mean probability %.4f, want about the fraud rate %.4f", b, meanP, rate)
				}
			}
			var sumP, frauds float64
			for k, i := range rows {
				sumP += p[k]
				frauds += float64(future.Labels[i])
			}
			if got, want := sumP/float64(len(rows)), frauds/float64(len(rows)); math.Abs(got-want) > 0.15*want {
				t.Errorf("got mean probability %.4f, want about the real fraud rate %.4f", got, want)
			}
		})
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Calibration maps each margin by an increasing function: the ranking, and with it ROC-AUC and
// AUPRC, are the raw margins', which stay available (model.Model.Margin, the members).
func TestCalibrationKeepsTheRanking(t *testing.T) {
	tbl := mixedTable(t, 3000, 31)
	for _, algo := range []string{AlgoGBDT, AlgoLogreg} {
		t.Run(algo, func(t *testing.T) {
			res := mustTrain(t, tbl, algo, Config{GBDT: smallGBDT(), Seed: 2})
			var member model.Member = res.Member
			weight := res.Blend.WeightLogreg
			if algo == AlgoGBDT {
				member, weight = res.Trees, res.Blend.WeightTrees
			}
			if !(weight > 0) {
				t.Fatalf("got calibration slope %v, want > 0", weight)
			}
			if res.Blend.Bias == 0 && weight == 1 {
				t.Errorf("got the identity map %+v, want a fitted calibration", res.Blend)
			}
			rows := futureRows(tbl)
			p := probabilities(tbl, res, rows)
			raw := memberMargins(tbl, rows, member)
			labels := rowLabels(tbl, rows)
			if a, b := ROCAUC(p, labels, nil), ROCAUC(raw, labels, nil); a != b {
				t.Errorf("got ROC-AUC %v from the probabilities and %v from the raw margins, want the same", a, b)
			}
			if a, b := AveragePrecision(p, labels, nil), AveragePrecision(raw, labels, nil); a != b {
				t.Errorf("got AUPRC %v from the probabilities and %v from the raw margins, want the same", a, b)
			}
		})
	}
}

// The refit changes the members and nothing that was chosen: the threshold, the calibration
// and the validation figures are those of the run without it.
func TestRefitKeepsTheChoices(t *testing.T) {
	tbl := mixedTable(t, 3000, 32)
	cfg := Config{GBDT: smallGBDT(), Seed: 3}
	refit := mustTrain(t, tbl, AlgoEnsemble, cfg)
	cfg.NoRefit = true
	kept := mustTrain(t, tbl, AlgoEnsemble, cfg)
	if kept.Refit != nil || refit.Refit == nil {
		t.Fatalf("got refit records %+v (default) and %+v (NoRefit), want one and none", refit.Refit, kept.Refit)
	}
	if refit.Blend != kept.Blend || refit.Threshold != kept.Threshold || refit.Validation != kept.Validation || refit.Tuning != kept.Tuning {
		t.Errorf("got blend %+v threshold %v validation %+v with the refit, want %+v %v %+v as without",
			refit.Blend, refit.Threshold, refit.Validation, kept.Blend, kept.Threshold, kept.Validation)
	}
	if r := refit.Refit; r.Rows != tbl.Rows() || r.Frauds != refit.Split.TrainFrauds+refit.Split.ValidationFrauds {
		t.Errorf("got refit on %d rows with %d frauds, want every row (%d)", r.Rows, r.Frauds, tbl.Rows())
	}
	if refit.Member.Coef == kept.Member.Coef {
		t.Errorf("got the same logistic coefficients after the refit, want a fit on more rows")
	}
	if refit.Train.Rows != tbl.Rows() || kept.Train.Rows != len(kept.Split.Train) {
		t.Errorf("got training figures on %d rows (refit) and %d (kept), want %d and %d",
			refit.Train.Rows, kept.Train.Rows, tbl.Rows(), len(kept.Split.Train))
	}
	man := refit.Bundle.Manifest
	if man.Training.Refit != refit.Refit || man.Metrics.ValidationModel == "" {
		t.Errorf("got manifest refit %+v and validation model %q, want the refit recorded and validation marked", man.Training.Refit, man.Metrics.ValidationModel)
	}
}

func TestRefitRounds(t *testing.T) {
	tests := []struct{ kept, train, all, want int }{
		{100, 800, 1000, 125},
		{237, 2690, 3363, 296},
		{1, 1000, 1001, 1},
		{0, 10, 20, 1},
	}
	for _, tc := range tests {
		if got := refitRounds(tc.kept, tc.train, tc.all); got != tc.want {
			t.Errorf("refitRounds(%d, %d, %d): got %d, want %d", tc.kept, tc.train, tc.all, got, tc.want)
		}
	}
}

// A recency half-life weights the fitted rows by their age: a row one half-life older than the
// latest weighs half as much in the fit, and the metrics still weigh every row as it stands.
func TestRecencyHalfLife(t *testing.T) {
	tbl := syntheticTable(t, 2000, -2, 1, 13)
	const h = 300
	p, err := prepare(tbl, Config{RecencyHalfLife: h, NormalWeight: 1, ValidationFraction: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	times := tbl.Times()
	train := p.split.Train
	latest := times[train[len(train)-1]]
	for _, i := range train {
		want := math.Exp2(-(latest - times[i]) / h)
		if math.Abs(p.fitWeights[i]-want) > 1e-12 || p.weights[i] != 1 {
			t.Fatalf("row %d (Time %v): got fit weight %v and metric weight %v, want %v and 1", i, times[i], p.fitWeights[i], p.weights[i], want)
		}
	}
	// A row one half-life before the latest.
	for _, i := range train {
		if times[i] == latest-h && math.Abs(p.fitWeights[i]-0.5) > 1e-12 {
			t.Errorf("got weight %v one half-life back, want 0.5", p.fitWeights[i])
		}
	}
	// Rows the fit does not see keep their weight.
	for _, i := range p.split.Validation {
		if p.fitWeights[i] != 1 {
			t.Fatalf("validation row %d: got fit weight %v, want 1", i, p.fitWeights[i])
		}
	}
	a := mustTrain(t, tbl, AlgoLogreg, Config{Seed: 1})
	b := mustTrain(t, tbl, AlgoLogreg, Config{Seed: 1, RecencyHalfLife: h})
	if a.Member.Coef == b.Member.Coef {
		t.Errorf("got the same coefficients with a half-life of %d, want a different fit", h)
	}
	if got := b.Bundle.Manifest.Training.Params["recency_half_life"]; got != float64(h) {
		t.Errorf("got recency_half_life %v in the manifest, want %d", got, h)
	}
	if _, err := Train(t.Context(), tbl, AlgoLogreg, Config{RecencyHalfLife: -1, CreatedAt: testCreatedAt}); err == nil {
		t.Errorf("got no error for a negative half-life, want one")
	}
}

// A member whose margins rank the tuning rows backwards gets no weight: the model answers the
// tuning rows' prior instead of failing to train.
func TestCalibrationWithoutSignalFallsBackToThePrior(t *testing.T) {
	labels := []uint8{1, 1, 0, 0, 0, 0}
	weights := []float64{1, 1, 1, 1, 1, 1}
	margins := [][]float64{{-2, -1, 0, 1, 2, 3}} // frauds lowest: a negative slope fits
	bias, coef, err := fitBlend(margins, labels, weights)
	if err != nil {
		t.Fatalf("got error %v, want the prior", err)
	}
	if coef[0] != 0 || math.Abs(bias-math.Log(2.0/4.0)) > 1e-12 {
		t.Errorf("got bias %v and weight %v, want log(2/4) and 0", bias, coef[0])
	}
	// Labels that are coin flips: a lone logistic regression still trains.
	for seed := range uint64(4) {
		tbl := syntheticTable(t, 1500, 0, 1, 100+seed)
		for i := range tbl.Labels {
			tbl.Labels[i] = uint8((i * 7919 % 13) % 2)
		}
		if _, err := Train(t.Context(), tbl, AlgoLogreg, Config{CreatedAt: testCreatedAt}); err != nil {
			t.Errorf("seed %d: got error %v on noise labels, want a model", seed, err)
		}
	}
}

// Result.Measured is the model and rows behind Result.Validation: scoring its rows with its
// model gives those figures exactly, with or without the refit, and its members are those of
// the split, not the shipped ones.
func TestMeasuredGivesTheValidationFigures(t *testing.T) {
	tbl := mixedTable(t, 3000, 33)
	for _, noRefit := range []bool{false, true} {
		cfg := Config{GBDT: smallGBDT(), Seed: 5, NormalWeight: 7, NoRefit: noRefit}
		res := mustTrain(t, tbl, AlgoEnsemble, cfg)
		ms := res.Measured
		if ms.Model == nil || !slices.Equal(ms.Rows, res.Holdout.Report) || len(ms.Labels) != len(ms.Rows) || len(ms.Weights) != len(ms.Rows) {
			t.Fatalf("noRefit %v: got measured model %v on %d rows (%d labels, %d weights), want a model on the %d report rows",
				noRefit, ms.Model, len(ms.Rows), len(ms.Labels), len(ms.Weights), len(res.Holdout.Report))
		}
		scores := make([]float64, len(ms.Rows))
		var x [30]float64
		for k, i := range ms.Rows {
			for j := range x {
				x[j] = tbl.Columns[j][i]
			}
			scores[k] = ms.Model.Probability(&x)
			if ms.Labels[k] != tbl.Labels[i] {
				t.Fatalf("noRefit %v: row %d: got label %d, want %d", noRefit, i, ms.Labels[k], tbl.Labels[i])
			}
			if want := map[uint8]float64{0: 7, 1: 1}[tbl.Labels[i]]; ms.Weights[k] != want {
				t.Fatalf("noRefit %v: row %d: got weight %v, want %v", noRefit, i, ms.Weights[k], want)
			}
		}
		if got := Evaluate(scores, ms.Labels, ms.Weights, ms.Model.Threshold()); got != res.Validation {
			t.Errorf("noRefit %v: got figures %+v from Measured, want Validation %+v", noRefit, got, res.Validation)
		}
		// The shipped model differs from the measured one exactly when it was refitted.
		shipped := model.Sigmoid(res.Blend.Bias + res.Blend.WeightTrees*res.Trees.Margin(&x) + res.Blend.WeightLogreg*res.Member.Margin(&x))
		if same := shipped == ms.Model.Probability(&x); same != noRefit {
			t.Errorf("noRefit %v: got shipped probability %v and measured %v, want them equal only without a refit", noRefit, shipped, ms.Model.Probability(&x))
		}
	}
}
