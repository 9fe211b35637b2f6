package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/report"
	"github.com/fraudguard/fraudguard/internal/train"
)

const reportSummary = `Evaluate a model on a labelled creditcard.csv-style file (Time, V1..V28, Amount, Class; an
optional transaction_id column is ignored) and write the evaluation as one HTML page.

  fraudguard report --model models/ --data labelled.csv --out report.html [--model-version V] [--weight-normal W]
  fraudguard report --model models/<version>/ --data labelled.csv --out report.html

--model is a directory of bundles (the newest is used, or --model-version) or one bundle's
directory. Every figure is computed from --data, so a bundle with no figures of its own (an
imported one) gets a full report: ROC and precision-recall curves, the confusion matrix at the
model's threshold, the score distributions of both classes, a threshold table (precision, recall
and alerts per 10,000 transactions at each threshold), a calibration plot and feature importance
(the mean |SHAP contribution| of each feature, over at most --importance-rows rows, evenly
spaced). --weight-normal weighs the normal rows of a downsampled file (56.863 for
creditcard-sample-train.csv), so that precision and alert volumes are at the real fraud rate.

The page stands alone: inline styles and SVG, no script, nothing fetched. It is written to a
temporary file beside --out and renamed into place when complete; on any error nothing is
written.`

// runReport implements "fraudguard report".
func runReport(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, _, stderr io.Writer) error {
	fs := newFlagSet("report", reportSummary, stderr)
	modelDir := fs.String("model", defaultModelPath(getenv), "directory of model bundles (env MODEL_PATH), or one bundle's directory")
	modelVersion := fs.String("model-version", "", "version of the bundle to evaluate, in a directory of bundles (default: the newest)")
	data := fs.String("data", "", "labelled CSV file to evaluate on (required)")
	out := fs.String("out", "", "HTML file to write (required)")
	weightNormal := fs.Float64("weight-normal", 1, "weight of each normal row: how many real normal transactions it stands for in a downsampled file (56.863 for creditcard-sample-train.csv)")
	weightColumn := fs.String("weight-column", "", "name of a CSV column giving each row's weight (numbers >= 0); not with --weight-normal")
	importanceRows := fs.Int("importance-rows", report.DefaultImportanceRows, "most rows explained for feature importance; beyond it an evenly spaced sample")
	quiet := fs.Bool("quiet", false, "write no summary to standard error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var problems []error
	if *data == "" {
		problems = append(problems, errors.New("--data is required: the labelled CSV file to evaluate on"))
	}
	if *out == "" {
		problems = append(problems, errors.New("--out is required: the HTML file to write"))
	} else if fo, err := os.Stat(*out); err == nil {
		if fo.IsDir() {
			problems = append(problems, fmt.Errorf("--out %q is a directory; allowed: a file path", *out))
		} else if fi, err := os.Stat(*data); err == nil && os.SameFile(fi, fo) {
			problems = append(problems, fmt.Errorf("--out %q is the --data file; write the report to another file", *out))
		}
	}
	if *modelDir == "" {
		problems = append(problems, errors.New("--model must not be empty"))
	}
	if !(*weightNormal > 0) || math.IsInf(*weightNormal, 0) {
		problems = append(problems, fmt.Errorf("--weight-normal %v must be a positive number", *weightNormal))
	}
	if *weightColumn != "" && *weightNormal != 1 {
		problems = append(problems, errors.New("--weight-column and --weight-normal both weight the rows: give one of them"))
	}
	if *importanceRows < 1 {
		problems = append(problems, fmt.Errorf("--importance-rows %d must be at least 1", *importanceRows))
	}
	if len(problems) > 0 {
		return usageError{fmt.Errorf("report: %w", errors.Join(problems...))}
	}

	start := time.Now()
	m, err := loadReportModel(*modelDir, *modelVersion)
	if err != nil {
		return err
	}
	tbl, err := dataset.ReadAllWith(ctx, *data, dataset.Options{WeightColumn: *weightColumn})
	if err != nil {
		return fmt.Errorf("report: %w", err) // names the file, the line and the column
	}
	rows := report.AllRows(tbl)
	info := report.Info{ModelName: m.Manifest.Name, ModelVersion: m.Version(), ModelKind: m.Manifest.Kind,
		Data: tbl.Name, Rows: "every row", Weighting: weighting(tbl, *weightNormal)}
	r, err := report.Build(ctx, m, tbl, rows, report.NormalWeights(tbl, rows, *weightNormal), info,
		report.Options{ImportanceRows: *importanceRows})
	if err != nil {
		return err
	}
	if err := writeReport(*out, r); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if !*quiet {
		e := r.Evaluation
		fmt.Fprintf(stderr, "fraudguard report: model %s on %d rows (%d frauds) of %s: ROC-AUC %.4f, AUPRC %.4f, at threshold %.4g precision %.4f recall %.4f, %.1f alerts per 10,000; wrote %s in %.1fs\n",
			m.Version(), e.Rows, e.Frauds, tbl.Name, e.Metrics.ROCAUC, e.Metrics.AUPRC, e.Threshold, e.Metrics.Precision, e.Metrics.Recall,
			e.AlertsPer10k, *out, time.Since(start).Seconds())
	}
	return nil
}

// loadReportModel loads dir itself when it is a bundle (it holds a manifest), else the bundle
// of dir that version names, or its newest.
func loadReportModel(dir, version string) (*model.Model, error) {
	_, err := os.Stat(filepath.Join(dir, model.ManifestFile))
	switch {
	case err == nil && version != "":
		return nil, usageError{fmt.Errorf("report: --model %s is one bundle (it holds %s): --model-version picks a bundle in a directory of bundles; drop one of them",
			dir, model.ManifestFile)}
	case err == nil:
		m, err := model.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		return m, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("report: --model %s: %w", dir, err)
	}
	m, err := model.LoadLatest(dir, version)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return m, nil
}

// weighting says in words how the rows of tbl weigh.
func weighting(tbl *dataset.Table, normalWeight float64) string {
	switch {
	case tbl.WeightColumn != "":
		return "Rows are weighted by the column " + tbl.WeightColumn + "."
	case normalWeight != 1:
		return "Each normal row weighs " + strconv.FormatFloat(normalWeight, 'g', -1, 64) + ": the real normal transactions it stands for."
	}
	return ""
}

// writeReport renders r into path by atomicfile's rule: on failure nothing is left.
func writeReport(path string, r *report.Report) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := report.Render(bw, r); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// reportPath is where train writes the report of a bundle: beside its directory, outside it,
// so that the bundle's bytes stay those of the model alone.
func reportPath(bundleDir string) string {
	return filepath.Clean(bundleDir) + ".report.html"
}

// trainReport writes the report of a training run: the validation rows that were only
// measured, scored by the model that was measured on them (before any refit).
func trainReport(ctx context.Context, tbl *dataset.Table, cfg train.Config, res *train.Result, dir string) (string, error) {
	ms := res.Measured
	rows := fmt.Sprintf("the %d validation rows with Time ≥ %g, held out from the fit and from every choice", len(ms.Rows), res.Holdout.Cut)
	if !res.Holdout.Halved {
		rows = fmt.Sprintf("the %d validation rows with Time ≥ %g, which also tuned the model (too few to halve): figures optimistic", len(ms.Rows), res.Split.Cut)
	}
	if res.Refit != nil {
		rows += ", scored by the members as fitted before the refit on every row (the shipped members learned from these rows too)"
	}
	man := res.Bundle.Manifest
	info := report.Info{ModelName: man.Name, ModelVersion: filepath.Base(dir), ModelKind: man.Kind, Data: tbl.Name,
		Rows: rows, Weighting: weighting(tbl, cfg.NormalWeight)}
	r, err := report.Build(ctx, ms.Model, tbl, ms.Rows, ms.Weights, info, report.Options{})
	if err != nil {
		return "", err
	}
	path := reportPath(dir)
	if err := writeReport(path, r); err != nil {
		return "", err
	}
	return path, nil
}
