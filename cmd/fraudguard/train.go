package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/train"
)

const trainSummary = `Train a model bundle from a labelled creditcard.csv-style file (Time, V1..V28, Amount, Class;
an optional transaction_id column is ignored).

--algo ensemble (the default) fits gradient-boosted trees and a logistic regression on the same
rows and blends them in log-odds; gbdt and logreg fit one of them alone.

The rows are sorted by Time and the latest 20% (--validation-fraction) are held out for
validation: their earlier half tunes early stopping, the calibration (the blend) and the
threshold, their later half is only measured and gives the validation figures. Then every
member is refitted on every row with those choices kept (--no-refit ships the first fit).
--weight-normal weighs the calibration, the threshold and the figures, so probabilities are at
the real prevalence; the members learn at the file's own class balance. The bundle is written to
--out/<version>/, where the version is the creation time and a hash of the content unless
--version names one; nothing is written when reading or training fails. The bundle keeps a
sample of up to 500 of the rows the model was fitted on (reference.json, seeded by --seed) and
the model's mean |SHAP| per feature over them, which GET /models/info reports, and the
distribution of every row it was fitted on (weighted deciles of V1..V28, Amount and the
model's probability), which GET /models/drift compares live traffic with. With the same
data, flags and --created-at, the bundle is the same byte for byte. Beside the bundle, outside
it, --out/<version>.report.html is the evaluation report (see fraudguard report --help) of the
validation rows that were only measured, scored by the model measured on them (before the refit).`

// trainAlgos returns the values --algo accepts.
func trainAlgos() []string { return train.Algorithms() }

func runTrain(ctx context.Context, args []string, _ func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	gd := train.DefaultGBDTParams()
	fs := newFlagSet("train", trainSummary, stderr)
	data := fs.String("data", "", "labelled CSV file to train on (required)")
	out := fs.String("out", "", "directory of model bundles; the new bundle goes in a subdirectory (required)")
	algo := fs.String("algo", train.DefaultAlgorithm, "training algorithm: "+strings.Join(trainAlgos(), ", "))
	name := fs.String("name", train.DefaultName, "model name recorded in the manifest")
	version := fs.String("version", "", "bundle version (default: creation time and content hash)")
	createdAt := fs.String("created-at", "", "creation time recorded in the bundle, RFC 3339 (default: now)")
	weightNormal := fs.Float64("weight-normal", 1, "weight of each normal row: how many real normal transactions it stands for in a downsampled file (56.863 for creditcard-sample-train.csv)")
	weightColumn := fs.String("weight-column", "", "name of a CSV column giving each row's weight (numbers >= 0); not with --weight-normal")
	thresholdMetric := fs.String("threshold-metric", string(train.DefaultThresholdMetric), "how the threshold is chosen on validation: f1, f2 (recall counts more) or cost (least --cost-fn·FN + --cost-fp·FP)")
	costFN := fs.Float64("cost-fn", train.DefaultCostFN, "cost of a missed fraud, for --threshold-metric cost")
	costFP := fs.Float64("cost-fp", train.DefaultCostFP, "cost of a false alarm, for --threshold-metric cost")
	validation := fs.Float64("validation-fraction", train.DefaultValidation, "share of rows, the latest by Time, held out for validation (halved into tuning and measured rows)")
	noRefit := fs.Bool("no-refit", false, "ship the members fitted on the training split instead of refitting them on every row once rounds, calibration and threshold are chosen")
	recency := fs.Float64("recency-half-life", 0, "weight rows in the fit by 2^(-age/half-life), age in the units of Time before the latest row (0: every row alike)")
	seed := fs.Int64("seed", 1, "seed of every random choice (row and column sampling, the canary rows)")
	l2 := fs.Float64("l2", train.DefaultL2, "logreg: L2 penalty on the standardised coefficients, relative to the mean log-loss (0 for none)")
	maxIter := fs.Int("max-iter", train.DefaultMaxIter, "logreg: maximum Newton iterations")
	tol := fs.Float64("tol", train.DefaultTol, "logreg: convergence tolerance on the predicted decrease of the objective")
	rounds := fs.Int("rounds", gd.Rounds, "gbdt: most trees to grow")
	learningRate := fs.Float64("learning-rate", gd.LearningRate, "gbdt: learning rate (eta)")
	growth := fs.String("growth", string(gd.Growth), "gbdt: tree growth, depthwise (up to --max-depth) or leafwise (up to --max-leaves)")
	maxDepth := fs.Int("max-depth", gd.MaxDepth, "gbdt: most levels of a tree (0: no bound, leafwise only)")
	maxLeaves := fs.Int("max-leaves", gd.MaxLeaves, "gbdt: most leaves of a tree (0: no bound, depthwise only)")
	lambda := fs.Float64("lambda", gd.Lambda, "gbdt: L2 penalty on leaf values")
	minChildWeight := fs.Float64("min-child-weight", gd.MinChildWeight, "gbdt: least hessian sum of a child, in rows (each class weighs as many rows as it has)")
	minSplitGain := fs.Float64("min-split-gain", gd.MinSplitGain, "gbdt: least loss reduction of a split")
	subsample := fs.Float64("subsample", gd.Subsample, "gbdt: share of rows each tree sees")
	colsample := fs.Float64("colsample", gd.ColSample, "gbdt: share of features each tree may split on")
	scalePosWeight := fs.Float64("scale-pos-weight", gd.ScalePosWeight, "gbdt: factor on the weight of fraud rows in the fit (0: the square root of the class ratio)")
	maxBins := fs.Int("max-bins", gd.MaxBins, "gbdt: most histogram bins per feature, the missing-value bin included (3..256)")
	patience := fs.Int("patience", gd.Patience, "gbdt: stop after this many rounds without improvement on validation (0: grow every round)")
	stopMetric := fs.String("stop-metric", string(gd.StopMetric), "gbdt: early-stopping metric, logloss or auprc")
	bags := fs.Int("bags", gd.Bags, "gbdt: boosted ensembles grown on different row and column samples and averaged (1..32)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	cfg := train.Config{
		L2:                 *l2,
		NormalWeight:       *weightNormal,
		MaxIter:            *maxIter,
		Tol:                *tol,
		ValidationFraction: *validation,
		NoRefit:            *noRefit,
		RecencyHalfLife:    *recency,
		Threshold: train.ThresholdRule{
			Metric: train.ThresholdMetric(*thresholdMetric),
			CostFN: *costFN,
			CostFP: *costFP,
		},
		GBDT: train.GBDTParams{
			Rounds:         *rounds,
			LearningRate:   *learningRate,
			Growth:         train.Growth(*growth),
			MaxDepth:       *maxDepth,
			MaxLeaves:      *maxLeaves,
			Lambda:         *lambda,
			MinChildWeight: *minChildWeight,
			MinSplitGain:   *minSplitGain,
			Subsample:      *subsample,
			ColSample:      *colsample,
			ScalePosWeight: *scalePosWeight,
			MaxBins:        *maxBins,
			Patience:       *patience,
			StopMetric:     train.StopMetric(*stopMetric),
			Bags:           *bags,
		},
		Seed:      *seed,
		Name:      *name,
		Version:   *version,
		CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	var problems []error
	if *data == "" {
		problems = append(problems, errors.New("--data is required"))
	}
	if *out == "" {
		problems = append(problems, errors.New("--out is required"))
	}
	if !slices.Contains(trainAlgos(), *algo) {
		problems = append(problems, fmt.Errorf("--algo %q is not one of %s", *algo, strings.Join(trainAlgos(), ", ")))
	}
	if *createdAt != "" {
		t, err := time.Parse(time.RFC3339, *createdAt)
		if err != nil {
			problems = append(problems, fmt.Errorf("--created-at %q is not an RFC 3339 time (like 2024-01-02T15:04:05Z)", *createdAt))
		}
		cfg.CreatedAt = t.UTC()
	}
	if *version != "" {
		if err := model.CheckVersion(*version); err != nil {
			problems = append(problems, fmt.Errorf("--version: %w", err))
		}
	}
	if *name == "" {
		problems = append(problems, errors.New("--name must not be empty"))
	}
	if !(*weightNormal > 0) || math.IsInf(*weightNormal, 0) {
		problems = append(problems, fmt.Errorf("--weight-normal %v must be a positive number", *weightNormal))
	}
	if *weightColumn != "" && *weightNormal != 1 {
		problems = append(problems, errors.New("--weight-column and --weight-normal both weight the rows: give one of them"))
	}
	if !(*validation > 0 && *validation < 1) {
		problems = append(problems, fmt.Errorf("--validation-fraction %v must be between 0 and 1", *validation))
	}
	if !(*l2 >= 0) || math.IsInf(*l2, 0) {
		problems = append(problems, fmt.Errorf("--l2 %v must be a number >= 0", *l2))
	}
	if !(*recency >= 0) || math.IsInf(*recency, 0) {
		problems = append(problems, fmt.Errorf("--recency-half-life %v must be a number >= 0", *recency))
	}
	if *maxIter < 1 {
		problems = append(problems, fmt.Errorf("--max-iter %d must be at least 1", *maxIter))
	}
	if !(*tol > 0) || math.IsInf(*tol, 0) {
		problems = append(problems, fmt.Errorf("--tol %v must be a positive number", *tol))
	}
	if !slices.Contains(train.ThresholdMetrics(), cfg.Threshold.Metric) {
		problems = append(problems, fmt.Errorf("--threshold-metric %q is not one of f1, f2, cost", *thresholdMetric))
	}
	for _, c := range []struct {
		flag string
		v    float64
	}{{"--cost-fn", *costFN}, {"--cost-fp", *costFP}} {
		if !(c.v > 0) || math.IsInf(c.v, 0) {
			problems = append(problems, fmt.Errorf("%s %v must be a positive number", c.flag, c.v))
		}
	}
	if *algo != train.AlgoLogreg {
		// The library says what is wrong with the boosting settings; the flags name them.
		if err := cfg.GBDT.Check(); err != nil {
			problems = append(problems, fmt.Errorf("%w (see --rounds, --learning-rate, --growth, --max-depth, --max-leaves, "+
				"--lambda, --min-child-weight, --min-split-gain, --subsample, --colsample, --scale-pos-weight, "+
				"--max-bins, --patience, --stop-metric, --bags)", err))
		}
	}
	if *bags < 1 {
		problems = append(problems, fmt.Errorf("--bags %d must be between 1 and %d", *bags, train.MaxBags))
	}
	if len(problems) > 0 {
		return usageError{fmt.Errorf("train: %w", errors.Join(problems...))}
	}

	tbl, err := dataset.ReadAllWith(ctx, *data, dataset.Options{WeightColumn: *weightColumn})
	if err != nil {
		return err // names the file, the line and the column
	}
	start := time.Now()
	res, err := train.Train(ctx, tbl, *algo, cfg)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	elapsed := time.Since(start)
	dir, err := model.Save(*out, res.Bundle)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	printTrainSummary(stdout, tbl, cfg, res, dir, elapsed)
	page, err := trainReport(ctx, tbl, cfg, res, dir)
	if err != nil {
		return fmt.Errorf("train: bundle %s written, but not its report: %w", dir, err)
	}
	fmt.Fprintf(stdout, "report: %s\n", page)
	return nil
}

func printTrainSummary(w io.Writer, tbl *dataset.Table, cfg train.Config, res *train.Result, dir string, elapsed time.Duration) {
	v, tu, tr := res.Validation, res.Tuning, res.Train
	fmt.Fprintf(w, "trained %s on %s: %d rows, %d frauds, in %.1fs\n", res.Algorithm, tbl.Name, tbl.Rows(), tbl.Frauds(), elapsed.Seconds())
	fmt.Fprintf(w, "  training   %6d rows, %4d frauds (Time < %g)\n", len(res.Split.Train), res.Split.TrainFrauds, res.Split.Cut)
	if res.Holdout.Halved {
		fmt.Fprintf(w, "  tuning     %6d rows, %4d frauds (Time >= %g and < %g): early stopping, blend, threshold\n", tu.Rows, tu.Frauds, res.Split.Cut, res.Holdout.Cut)
		fmt.Fprintf(w, "  validation %6d rows, %4d frauds (Time >= %g): measured only\n", v.Rows, v.Frauds, res.Holdout.Cut)
	} else {
		fmt.Fprintf(w, "  validation %6d rows, %4d frauds (Time >= %g)\n", v.Rows, v.Frauds, res.Split.Cut)
		fmt.Fprintf(w, "  WARNING: too few validation rows to halve: tuned and measured on the same rows, figures optimistic\n")
	}
	switch {
	case tbl.WeightColumn != "":
		fmt.Fprintf(w, "  rows weighted by column %s in the calibration, the threshold and every figure below\n", tbl.WeightColumn)
	case cfg.NormalWeight != 1:
		fmt.Fprintf(w, "  normal rows weighted %g in the calibration, the threshold and every figure below (the members learn at the file's own balance)\n", cfg.NormalWeight)
	}
	if res.Trees != nil {
		b := res.Boosting
		stop := "no early stop"
		switch {
		case b.StoppedEarly && b.Bags > 1:
			stop = "early stopping on the tuning rows"
		case b.StoppedEarly:
			stop = fmt.Sprintf("stopped early at round %d", b.Rounds)
		}
		bags := ""
		if b.Bags > 1 {
			bags = fmt.Sprintf("%d bags averaged, ", b.Bags)
		}
		fmt.Fprintf(w, "  gbdt: %s%d trees kept of %d grown (%s), fraud weight x%.4g, %d bins\n", bags, b.Trees, b.Rounds, stop, b.ScalePosWeight, b.Bins)
	}
	if res.Member != nil {
		if res.Converged {
			fmt.Fprintf(w, "  logreg: newton converged in %d iterations (l2 %g)\n", res.Iterations, cfg.L2)
		} else {
			fmt.Fprintf(w, "  logreg: WARNING: newton stopped after %d iterations without converging; try a larger --l2 or --max-iter\n", res.Iterations)
		}
	}
	bl := res.Blend
	switch res.Algorithm {
	case train.AlgoEnsemble:
		fmt.Fprintf(w, "  blend and calibration: margin = %.4g + %.4g·gbdt + %.4g·logreg\n", bl.Bias, bl.WeightTrees, bl.WeightLogreg)
	case train.AlgoGBDT:
		fmt.Fprintf(w, "  calibration: margin = %.4g + %.4g·gbdt\n", bl.Bias, bl.WeightTrees)
	case train.AlgoLogreg:
		fmt.Fprintf(w, "  calibration: margin = %.4g + %.4g·logreg\n", bl.Bias, bl.WeightLogreg)
	}
	if bl.WeightTrees == 0 && bl.WeightLogreg == 0 {
		fmt.Fprintf(w, "  WARNING: no member ranks the tuning rows the right way: the model answers their fraud rate to every transaction\n")
	}
	if r := res.Refit; r != nil {
		fmt.Fprintf(w, "  refit on every row: %d rows, %d frauds", r.Rows, r.Frauds)
		if res.Trees != nil {
			fmt.Fprintf(w, ", %d trees", r.Trees)
		}
		fmt.Fprintf(w, "; the figures below up to \"training\" were measured before the refit\n")
	}
	fmt.Fprintf(w, "validation: ROC-AUC %.4f  AUPRC %.4f  recall at 1%% FPR %.4f\n", v.ROCAUC, v.AUPRC, v.RecallAt1PctFPR)
	fmt.Fprintf(w, "threshold %.6g (%s on tuning rows, %.4g there): precision %.4f  recall %.4f  F1 %.4f\n",
		res.Threshold, res.Rule.Metric, res.RuleValue, v.Precision, v.Recall, v.F1)
	c := v.Confusion
	fmt.Fprintf(w, "  confusion: TP %.6g  FP %.6g  TN %.6g  FN %.6g\n", c.TP, c.FP, c.TN, c.FN)
	if res.Holdout.Halved {
		fmt.Fprintf(w, "tuning:     ROC-AUC %.4f  AUPRC %.4f  recall at 1%% FPR %.4f\n", tu.ROCAUC, tu.AUPRC, tu.RecallAt1PctFPR)
		a := res.ValidationAll
		fmt.Fprintf(w, "both halves: ROC-AUC %.4f  AUPRC %.4f  recall at 1%% FPR %.4f (%d rows, %d frauds; flattered by the tuning half)\n",
			a.ROCAUC, a.AUPRC, a.RecallAt1PctFPR, a.Rows, a.Frauds)
	}
	if res.Refit != nil {
		fmt.Fprintf(w, "training (shipped model, every row): ROC-AUC %.4f  AUPRC %.4f\n", tr.ROCAUC, tr.AUPRC)
	} else {
		fmt.Fprintf(w, "training:   ROC-AUC %.4f  AUPRC %.4f\n", tr.ROCAUC, tr.AUPRC)
	}
	fmt.Fprintf(w, "bundle: %s\n", dir)
}
