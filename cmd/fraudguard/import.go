package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/model/lightgbm"
	"github.com/fraudguard/fraudguard/internal/model/xgboost"
)

const importSummary = `Import a gradient-boosted tree model trained with XGBoost or LightGBM as a model bundle.

  fraudguard import --xgboost model.json --out models/      (or model.ubj: save_model's UBJSON)
  fraudguard import --lightgbm model.txt --out models/      (LightGBM's text format, v2 to v4)

XGBoost models must be binary:logistic (gbtree or dart, XGBoost 1.x to 3.x); LightGBM models
must be binary. The model's features map onto the transaction (Time, V1..V28, Amount) by name;
a model of exactly 30 unnamed features (XGBoost's f0.., LightGBM's Column_0..) maps by position
only with --positional. The bundle holds one "trees" member and canary rows (synthetic
transactions with the imported model's probabilities); it is written to --out/<version>/, the
version being the creation time and a content hash unless --version names one. Nothing is
written when the model cannot be imported.

--reference FILE.csv stores a sample of up to 500 of the file's rows in the bundle (a uniform
sample seeded by --seed), over which the model's mean |SHAP| per feature is measured once and
kept for GET /models/info; --weight-normal W weighs its normal rows (Class 0) W each, as train
does for a downsampled file. It needs a model with node covers, which explanations need. Every
row of the file, weighed alike, is also binned into the bundle's training distribution
(deciles of V1..V28, Amount and the model's probability), which GET /models/drift compares
live traffic with; a bundle imported without --reference has none.`

func runImport(ctx context.Context, args []string, _ func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", importSummary, stderr)
	xgbPath := fs.String("xgboost", "", "XGBoost model saved by save_model, JSON or UBJSON")
	lgbPath := fs.String("lightgbm", "", "LightGBM model in its text format")
	out := fs.String("out", "", "directory of model bundles; the new bundle goes in a subdirectory (required)")
	positional := fs.Bool("positional", false, "map a model's 30 unnamed features onto Time, V1..V28, Amount by position")
	bestIteration := fs.Bool("best-iteration", false, "XGBoost: keep only the trees up to the best_iteration early stopping recorded, "+
		"as the scikit-learn interface predicts (default: every tree, as Booster.predict)")
	name := fs.String("name", "", "model name recorded in the manifest (default: the model file's name without extension)")
	version := fs.String("version", "", "bundle version (default: creation time and content hash)")
	threshold := fs.Float64("threshold", 0.5, "decision threshold: a transaction is flagged when its probability is at least this")
	createdAt := fs.String("created-at", "", "creation time recorded in the bundle, RFC 3339 (default: now)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic canary rows and of the reference sample")
	reference := fs.String("reference", "", "creditcard.csv-style file whose rows (up to 500, sampled) are kept in the bundle to measure the model's mean |SHAP| on")
	weightNormal := fs.Float64("weight-normal", 1, "with --reference: weight of each normal row (Class 0) of the file, how many real normal transactions it stands for")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	var problems []error
	switch {
	case *xgbPath == "" && *lgbPath == "":
		problems = append(problems, errors.New("one of --xgboost and --lightgbm is required"))
	case *xgbPath != "" && *lgbPath != "":
		problems = append(problems, errors.New("--xgboost and --lightgbm cannot be combined: import one model at a time"))
	}
	if *out == "" {
		problems = append(problems, errors.New("--out is required"))
	}
	if *bestIteration && *xgbPath == "" {
		problems = append(problems, errors.New("--best-iteration applies to --xgboost only (a LightGBM file holds the trees it was saved with)"))
	}
	if !(*threshold >= 0 && *threshold <= 1) {
		problems = append(problems, fmt.Errorf("--threshold %v must be a number from 0 to 1", *threshold))
	}
	if *version != "" {
		if err := model.CheckVersion(*version); err != nil {
			problems = append(problems, fmt.Errorf("--version: %w", err))
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["weight-normal"] && *reference == "" {
		problems = append(problems, errors.New("--weight-normal weighs the rows of --reference: give --reference too"))
	}
	if !(*weightNormal > 0) || math.IsInf(*weightNormal, 0) {
		problems = append(problems, fmt.Errorf("--weight-normal %v must be a positive number", *weightNormal))
	}
	if set["name"] && strings.TrimSpace(*name) == "" {
		problems = append(problems, errors.New("--name must not be empty"))
	}
	created := time.Now().UTC().Truncate(time.Second)
	if *createdAt != "" {
		t, err := time.Parse(time.RFC3339, *createdAt)
		if err != nil {
			problems = append(problems, fmt.Errorf("--created-at %q is not an RFC 3339 time (like 2024-01-02T15:04:05Z)", *createdAt))
		}
		created = t.UTC()
	}
	if len(problems) > 0 {
		return usageError{fmt.Errorf("import: %w", errors.Join(problems...))}
	}

	path := *xgbPath
	if path == "" {
		path = *lgbPath
	}
	data, err := model.ReadImportFile(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	settings := model.ImportSettings{
		File:       path,
		Name:       *name,
		Version:    *version,
		Threshold:  *threshold,
		CreatedAt:  created,
		Positional: *positional,
		CanarySeed: *seed,
	}
	var imp *model.Imported
	if *xgbPath != "" {
		imp, err = xgboost.Bundle(data, xgboost.Options{Positional: *positional, BestIteration: *bestIteration}, settings)
	} else {
		imp, err = lightgbm.Bundle(data, lightgbm.Options{Positional: *positional}, settings)
	}
	if err != nil {
		if errors.Is(err, model.ErrUnnamedFeatures) {
			err = fmt.Errorf("%w (pass --positional if they are in that order)", err)
		}
		return fmt.Errorf("import %s: %w", path, err)
	}
	if *reference != "" {
		if err := imp.Ensemble.Explain(new([fraud.NumFeatures]float64), new(model.Explanation)); err != nil {
			return fmt.Errorf("import %s: --reference: the model cannot be explained, so mean |SHAP| cannot be measured: %w", path, err)
		}
		if imp.Bundle.Reference, imp.Bundle.Drift, err = readReference(ctx, *reference, *weightNormal, *seed); err != nil {
			return fmt.Errorf("import: --reference: %w", err)
		}
	}
	dir, err := model.Save(*out, imp.Bundle)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	e := imp.Ensemble
	fmt.Fprintf(stdout, "imported %s from %s: %d trees, depth up to %d\n", e.Options().Source, path, e.NumTrees(), e.MaxDepth())
	fmt.Fprintf(stdout, "  features: %s\n", imp.Mapping)
	fmt.Fprintf(stdout, "  threshold %g; %d canary rows recorded\n", *threshold, len(imp.Bundle.Manifest.Canaries))
	if r := imp.Bundle.Reference; r != nil {
		fmt.Fprintf(stdout, "  reference: %s; mean |SHAP| measured on it\n", r.Description)
	}
	if d := imp.Bundle.Drift; d != nil {
		fmt.Fprintf(stdout, "  training distribution for drift: %s\n", d.Description)
	}
	fmt.Fprintf(stdout, "bundle: %s\n", dir)
	return nil
}

// readReference samples up to model.MaxReferenceRows rows of the creditcard.csv-style file at
// path, normal rows (Class 0) weighing weightNormal, the others 1, and keeps every row, weighed
// alike, as the training distribution for drift.
func readReference(ctx context.Context, path string, weightNormal float64, seed uint64) (*model.Reference, *model.DriftSample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	rd, err := dataset.NewReader(bufio.NewReader(f), filepath.Base(path), dataset.Options{})
	if err != nil {
		return nil, nil, err
	}
	if weightNormal != 1 && !rd.HasClass() {
		return nil, nil, fmt.Errorf("%s has no Class column, which --weight-normal needs to tell normal rows", path)
	}
	s := model.NewReferenceSampler(seed, model.MaxReferenceRows)
	drift := &model.DriftSample{}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err // names the file, the line and the column
		}
		w := 1.0
		if rec.Class == 0 {
			w = weightNormal
		}
		s.Add(&rec.Features, w)
		if w != 0 {
			drift.Rows = append(drift.Rows, rec.Features)
			drift.Weights = append(drift.Weights, w)
		}
	}
	if s.Seen() == 0 {
		return nil, nil, fmt.Errorf("%s has no rows", path)
	}
	weighed := "every row weighs 1"
	if weightNormal != 1 {
		weighed = fmt.Sprintf("normal rows weigh %g, frauds 1", weightNormal)
	}
	r := s.Reference("")
	r.Description = fmt.Sprintf("a uniform sample of %d of the %d rows of %s (reservoir sampling, seed %d); %s",
		len(r.Rows), s.Seen(), filepath.Base(path), seed, weighed)
	drift.Description = fmt.Sprintf("the %d rows of %s, in %d weighted quantile bins; %s",
		len(drift.Rows), filepath.Base(path), model.DriftBins, weighed)
	return r, drift, nil
}
