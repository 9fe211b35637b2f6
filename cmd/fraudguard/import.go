package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/model/lightgbm"
	"github.com/fraudguard/fraudguard/internal/model/xgboost"
	"github.com/fraudguard/fraudguard/internal/synth"
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
written when the model cannot be imported.`

// maxImportBytes bounds the model file read into memory.
const maxImportBytes = 1 << 30

// importCanaries is the number of canary rows stored in an imported bundle.
const importCanaries = 32

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
	seed := fs.Uint64("seed", 1, "seed of the synthetic canary rows")
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

	path, lib := *xgbPath, "xgboost"
	if path == "" {
		path, lib = *lgbPath, "lightgbm"
	}
	data, err := readModelFile(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	imp, err := importModel(lib, data, *positional, *bestIteration)
	if err != nil {
		if errors.Is(err, model.ErrUnnamedFeatures) {
			err = fmt.Errorf("%w (pass --positional if they are in that order)", err)
		}
		return fmt.Errorf("import %s: %w", path, err)
	}
	member, err := json.Marshal(imp.ensemble)
	if err != nil {
		return fmt.Errorf("import %s: encode the trees: %w", path, err)
	}
	canaries, err := importCanaryRows(*seed)
	if err != nil {
		return fmt.Errorf("import: canaries: %w", err)
	}
	if !set["name"] {
		*name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	params := imp.params
	params["positional"] = *positional
	params["feature_mapping"] = imp.mapping
	params["canary_seed"] = *seed
	dir, err := model.Save(*out, model.Bundle{
		Manifest: model.Manifest{
			Name:      *name,
			Version:   *version,
			Kind:      model.KindTrees,
			Threshold: *threshold,
			// Trees compare the raw features: there is no preprocessing to describe.
			Preprocessing: []model.Preprocessing{},
			Training: model.Training{
				Algorithm: lib + "-import",
				Params:    params,
				Data:      filepath.Base(path),
				Split:     "none: imported, not trained here",
			},
			CreatedAt: created,
			Members:   []model.MemberSpec{{Kind: model.KindTrees, File: model.TreesFile, Weight: 1}},
			Canaries:  canaries,
		},
		Files: map[string][]byte{model.TreesFile: member},
	})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	e := imp.ensemble
	fmt.Fprintf(stdout, "imported %s from %s: %d trees, depth up to %d\n", e.Options().Source, path, e.NumTrees(), e.MaxDepth())
	fmt.Fprintf(stdout, "  features: %s\n", imp.mapping)
	fmt.Fprintf(stdout, "  threshold %g; %d canary rows recorded\n", *threshold, len(canaries))
	fmt.Fprintf(stdout, "bundle: %s\n", dir)
	return nil
}

// imported is a model read by one of the importers.
type imported struct {
	ensemble *model.TreeEnsemble
	params   map[string]any // for the manifest's training params
	mapping  string         // how the features were mapped, in words
}

func importModel(lib string, data []byte, positional, bestIteration bool) (*imported, error) {
	var (
		imp   imported
		names []string
		err   error
	)
	switch lib {
	case "xgboost":
		var m *xgboost.Model
		m, imp.ensemble, err = xgboost.Import(data, xgboost.Options{Positional: positional, BestIteration: bestIteration})
		if err != nil {
			return nil, err
		}
		names = m.FeatureNames
		imp.params = map[string]any{
			"xgboost_version":  fmt.Sprintf("%d.%d.%d", m.Version[0], m.Version[1], m.Version[2]),
			"objective":        m.Objective,
			"booster":          m.Booster,
			"base_score":       float32Decimal(m.BaseScore),
			"trees":            len(m.Trees),
			"rounds_in_file":   len(m.RoundEnds),
			"up_to_best_round": bestIteration,
		}
		if m.BestIteration >= 0 {
			imp.params["best_iteration"] = m.BestIteration
		}
	case "lightgbm":
		var m *lightgbm.Model
		m, imp.ensemble, err = lightgbm.Import(data, lightgbm.Options{Positional: positional})
		if err != nil {
			return nil, err
		}
		names = m.FeatureNames
		imp.params = map[string]any{
			"lightgbm_format": m.Version,
			"objective":       m.Objective,
			"average_output":  m.AverageOutput,
			"trees":           len(m.Trees),
		}
	default:
		return nil, fmt.Errorf("unknown library %q", lib)
	}
	fm := imp.ensemble.Options().FeatureMap
	byName := len(names) == len(fm)
	for j, k := range fm {
		byName = byName && names[j] == fraud.FeatureNames()[k]
	}
	if byName {
		imp.mapping = fmt.Sprintf("%d features mapped by name", len(fm))
	} else {
		imp.mapping = fmt.Sprintf("%d unnamed features mapped by position", len(fm))
	}
	return &imp, nil
}

// float32Decimal returns the float64 nearest to the shortest decimal of float32(x), so that a
// float32 parameter reads as XGBoost wrote it (0.2, not 0.20000000298023224).
func float32Decimal(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', -1, 32), 64)
	return v
}

// readModelFile reads a model file of at most maxImportBytes.
func readModelFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxImportBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxImportBytes)
	}
	return data, nil
}

// importCanaryRows returns synthetic transactions, half of them drawn as frauds, for the
// bundle's canaries: Load re-scores them and refuses a bundle that scores them differently.
func importCanaryRows(seed uint64) ([]model.Canary, error) {
	params, err := synth.DefaultParams()
	if err != nil {
		return nil, err
	}
	g, err := synth.NewGenerator(params, rand.New(rand.NewPCG(seed, 0x1337)), 0.5, importCanaries)
	if err != nil {
		return nil, err
	}
	out := make([]model.Canary, 0, importCanaries)
	var r synth.Row
	for g.Next(&r) {
		for _, v := range r.Features {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, errors.New("the generator made a non-finite value")
			}
		}
		out = append(out, model.Canary{Features: r.Features})
	}
	return out, nil
}
