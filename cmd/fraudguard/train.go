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

The rows are sorted by Time and the latest 20% are held out for validation. The bundle is
written to --out/<version>/, where the version is the creation time and a hash of the content
unless --version names one; nothing is written when reading or training fails. With the same
data, flags and --created-at, the bundle is the same byte for byte.`

// trainAlgos returns the values --algo accepts.
func trainAlgos() []string { return []string{"logreg"} }

func runTrain(ctx context.Context, args []string, _ func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", trainSummary, stderr)
	data := fs.String("data", "", "labelled CSV file to train on (required)")
	out := fs.String("out", "", "directory of model bundles; the new bundle goes in a subdirectory (required)")
	algo := fs.String("algo", "logreg", "training algorithm: logreg")
	name := fs.String("name", train.DefaultName, "model name recorded in the manifest")
	version := fs.String("version", "", "bundle version (default: creation time and content hash)")
	createdAt := fs.String("created-at", "", "creation time recorded in the bundle, RFC 3339 (default: now)")
	weightNormal := fs.Float64("weight-normal", 1, "weight of each normal row: how many real normal transactions it stands for in a downsampled file (56.863 for creditcard-sample-train.csv)")
	l2 := fs.Float64("l2", train.DefaultL2, "L2 penalty on the standardised coefficients, relative to the mean log-loss (0 for none)")
	seed := fs.Int64("seed", 1, "seed of every random choice (the canary rows)")
	maxIter := fs.Int("max-iter", train.DefaultMaxIter, "maximum Newton iterations")
	tol := fs.Float64("tol", train.DefaultTol, "convergence tolerance on the predicted decrease of the objective")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	cfg := train.Config{
		L2:           *l2,
		NormalWeight: *weightNormal,
		MaxIter:      *maxIter,
		Tol:          *tol,
		Seed:         *seed,
		Name:         *name,
		Version:      *version,
		CreatedAt:    time.Now().UTC().Truncate(time.Second),
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
	if !(*l2 >= 0) || math.IsInf(*l2, 0) {
		problems = append(problems, fmt.Errorf("--l2 %v must be a number >= 0", *l2))
	}
	if *maxIter < 1 {
		problems = append(problems, fmt.Errorf("--max-iter %d must be at least 1", *maxIter))
	}
	if !(*tol > 0) || math.IsInf(*tol, 0) {
		problems = append(problems, fmt.Errorf("--tol %v must be a positive number", *tol))
	}
	if len(problems) > 0 {
		return usageError{fmt.Errorf("train: %w", errors.Join(problems...))}
	}

	tbl, err := dataset.ReadAll(ctx, *data)
	if err != nil {
		return err // names the file, the line and the column
	}
	res, err := train.Logreg(ctx, tbl, cfg)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	dir, err := model.Save(*out, res.Bundle)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	printTrainSummary(stdout, tbl, cfg, res, dir)
	return nil
}

func printTrainSummary(w io.Writer, tbl *dataset.Table, cfg train.Config, res *train.Result, dir string) {
	v, tr := res.Validation, res.Train
	fmt.Fprintf(w, "trained logreg on %s: %d rows, %d frauds\n", tbl.Name, tbl.Rows(), tbl.Frauds())
	fmt.Fprintf(w, "  training   %5d rows, %4d frauds (Time < %g)\n", tr.Rows, tr.Frauds, res.Split.Cut)
	fmt.Fprintf(w, "  validation %5d rows, %4d frauds (Time >= %g)\n", v.Rows, v.Frauds, res.Split.Cut)
	if cfg.NormalWeight != 1 {
		fmt.Fprintf(w, "  normal rows weighted %g in the fit's prior and in every figure below\n", cfg.NormalWeight)
	}
	if res.Converged {
		fmt.Fprintf(w, "  newton: converged in %d iterations (l2 %g)\n", res.Iterations, cfg.L2)
	} else {
		fmt.Fprintf(w, "  newton: WARNING: stopped after %d iterations without converging; try a larger --l2 or --max-iter\n", res.Iterations)
	}
	fmt.Fprintf(w, "validation: ROC-AUC %.4f  AUPRC %.4f  recall at 1%% FPR %.4f\n", v.ROCAUC, v.AUPRC, v.RecallAt1PctFPR)
	fmt.Fprintf(w, "threshold %.6g (max F1 on validation): precision %.4f  recall %.4f  F1 %.4f\n", res.Threshold, v.Precision, v.Recall, v.F1)
	c := v.Confusion
	fmt.Fprintf(w, "  confusion: TP %.6g  FP %.6g  TN %.6g  FN %.6g\n", c.TP, c.FP, c.TN, c.FN)
	fmt.Fprintf(w, "training:   ROC-AUC %.4f  AUPRC %.4f\n", tr.ROCAUC, tr.AUPRC)
	fmt.Fprintf(w, "bundle: %s\n", dir)
}
