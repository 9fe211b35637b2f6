package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

// runImportCmd runs "fraudguard import args..." and returns its error and output.
func runImportCmd(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"import"}, args...), func(string) string { return "" },
		strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// xgbVectors are XGBoost's own outputs for rows of the shared vectors, the rows put in the
// transaction layout by the file's feature names (null as NaN).
type xgbVectors struct {
	rows        [][fraud.NumFeatures]float64
	probability []float64
	margin      []float64
}

func mustReadXGBVectors(t testing.TB, path string) xgbVectors {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Features    []string     `json:"features"`
		Rows        [][]*float64 `json:"rows"`
		Probability []float64    `json:"probability"`
		Margin      []float64    `json:"margin"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	v := xgbVectors{probability: f.Probability, margin: f.Margin, rows: make([][fraud.NumFeatures]float64, len(f.Rows))}
	for i, r := range f.Rows {
		for j, p := range r {
			k := slices.Index(fraud.FeatureNames(), f.Features[j])
			if k < 0 {
				t.Fatalf("%s: feature %q is not a transaction feature", path, f.Features[j])
			}
			v.rows[i][k] = math.NaN()
			if p != nil {
				v.rows[i][k] = *p
			}
		}
	}
	if len(v.rows) == 0 || len(v.probability) != len(v.rows) || len(v.margin) != len(v.rows) {
		t.Fatalf("%s: %d rows, %d probabilities, %d margins", path, len(v.rows), len(v.probability), len(v.margin))
	}
	return v
}

// mustBeEmpty fails unless dir is absent or empty.
func mustBeEmpty(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Errorf("got %d entries in %s (%s...), want none", len(entries), dir, entries[0].Name())
	}
}

func TestImportXGBoostBundlesMatchXGBoost(t *testing.T) {
	for _, name := range []string{"gbtree-depth4", "gbtree-missing", "gbtree-scaleposweight"} {
		v := mustReadXGBVectors(t, sharedtest.Testdata(t, "xgboost", name+".vectors.json"))
		for _, ext := range []string{".json", ".ubj"} {
			t.Run(name+ext, func(t *testing.T) {
				src := sharedtest.Testdata(t, "xgboost", name+ext)
				out := filepath.Join(t.TempDir(), "models")
				stdout, stderr, err := runImportCmd(t, "--xgboost", src, "--out", out, "--created-at", "2024-05-06T07:08:09Z")
				if err != nil {
					t.Fatalf("got error %v (stderr %q), want none", err, stderr)
				}
				m, err := model.LoadLatest(out, "")
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(stdout, "bundle: "+m.Dir) || !strings.Contains(stdout, "30 features mapped by name") {
					t.Errorf("got output %q, want the bundle %s and the mapping by name", stdout, m.Dir)
				}
				man := m.Manifest
				if man.Kind != model.KindTrees || man.Name != name || man.Threshold != 0.5 ||
					man.Training.Algorithm != "xgboost-import" || man.Training.Data != name+ext ||
					len(man.Members) != 1 || man.Members[0] != (model.MemberSpec{Kind: model.KindTrees, File: model.TreesFile, Weight: 1}) ||
					len(man.Canaries) == 0 || man.Bias != 0 {
					t.Errorf("got manifest %+v", man)
				}
				var maxP, maxM float64
				for i := range v.rows {
					p, margin := m.Probability(&v.rows[i]), m.Margin(&v.rows[i])
					if d := math.Abs(p - v.probability[i]); d > 1e-6 {
						t.Errorf("row %d: got probability %.9g, XGBoost gives %.9g", i, p, v.probability[i])
					} else {
						maxP = max(maxP, d)
					}
					if d := math.Abs(margin - v.margin[i]); d > 1e-6 {
						t.Errorf("row %d: got margin %.9g, XGBoost gives %.9g", i, margin, v.margin[i])
					} else {
						maxM = max(maxM, d)
					}
				}
				t.Logf("%s: loaded bundle over %d rows: max |Δprobability| %.3g, max |Δmargin| %.3g", name+ext, len(v.rows), maxP, maxM)
			})
		}
	}
}

// TestImportBestIteration imports a model whose file says early stopping found round 59 of
// 120 best: --best-iteration keeps the first 60 trees, without it all 120 score.
func TestImportBestIteration(t *testing.T) {
	src := sharedtest.Testdata(t, "xgboost", "gbtree-depth4.json")
	data := strings.Replace(string(mustReadBytes(t, src)), `"best_iteration":"119"`, `"best_iteration":"59"`, 1)
	path := mustWriteFile(t, t.TempDir(), "stopped.json", data)
	v := mustReadXGBVectors(t, sharedtest.Testdata(t, "xgboost", "gbtree-depth4.vectors.json"))
	load := func(args ...string) *model.Model {
		t.Helper()
		out := filepath.Join(t.TempDir(), "models")
		if _, stderr, err := runImportCmd(t, append([]string{"--xgboost", path, "--out", out}, args...)...); err != nil {
			t.Fatalf("got error %v (stderr %q)", err, stderr)
		}
		m, err := model.LoadLatest(out, "")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	all, best := load(), load("--best-iteration")
	for _, tc := range []struct {
		m     *model.Model
		trees float64
		up    bool
	}{{all, 120, false}, {best, 60, true}} {
		p := tc.m.Manifest.Training.Params
		if p["trees"] != tc.trees || p["best_iteration"] != 59.0 || p["up_to_best_round"] != tc.up || p["rounds_in_file"] != 120.0 {
			t.Errorf("got manifest params %v, want %v trees, best_iteration 59, up_to_best_round %v", p, tc.trees, tc.up)
		}
	}
	differ := 0
	for i := range v.rows {
		if got, want := all.Margin(&v.rows[i]), v.margin[i]; math.Abs(got-want) > 1e-6 {
			t.Errorf("row %d: every tree gives margin %.9g, XGBoost %.9g", i, got, want)
		}
		if best.Margin(&v.rows[i]) != all.Margin(&v.rows[i]) {
			differ++
		}
	}
	if differ < len(v.rows)/2 {
		t.Errorf("the first 60 trees give the margin of all 120 on %d of %d rows, want most to differ", len(v.rows)-differ, len(v.rows))
	}
}

func TestImportLightGBMBundleMatchesLightGBM(t *testing.T) {
	src := sharedtest.Testdata(t, "lightgbm", "lg_dart_breast_cancer.model")
	// The breast-cancer features stand in for the transaction's, by position.
	var rows [][fraud.NumFeatures]float64
	sc := bufio.NewScanner(bytes.NewReader(mustReadBytes(t, sharedtest.Testdata(t, "lightgbm", "breast_cancer_test.tsv"))))
	for sc.Scan() {
		var x [fraud.NumFeatures]float64
		fields := strings.Fields(sc.Text())
		if len(fields) != fraud.NumFeatures {
			t.Fatalf("row %d has %d values", len(rows), len(fields))
		}
		for j, f := range fields {
			x[j] = mustParseFloat(t, f)
		}
		rows = append(rows, x)
	}
	var want []float64
	for _, f := range strings.Fields(string(mustReadBytes(t, sharedtest.Testdata(t, "lightgbm", "lg_dart_breast_cancer_true_predictions.txt")))) {
		want = append(want, mustParseFloat(t, f))
	}
	if len(want) != len(rows) {
		t.Fatalf("%d predictions for %d rows", len(want), len(rows))
	}

	out := filepath.Join(t.TempDir(), "models")
	_, _, err := runImportCmd(t, "--lightgbm", src, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "--positional") {
		t.Fatalf("got error %v without --positional, want one suggesting it", err)
	}
	mustBeEmpty(t, out)

	stdout, stderr, err := runImportCmd(t, "--lightgbm", src, "--out", out, "--positional", "--name", "breast-cancer", "--threshold", "0.3")
	if err != nil {
		t.Fatalf("got error %v (stderr %q), want none", err, stderr)
	}
	if !strings.Contains(stdout, "30 unnamed features mapped by position") {
		t.Errorf("got output %q, want it to say the features were mapped by position", stdout)
	}
	m, err := model.LoadLatest(out, "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Manifest.Name != "breast-cancer" || m.Manifest.Threshold != 0.3 || m.Manifest.Training.Algorithm != "lightgbm-import" {
		t.Errorf("got name %q, threshold %v, algorithm %q", m.Manifest.Name, m.Manifest.Threshold, m.Manifest.Training.Algorithm)
	}
	for i := range rows {
		if got := m.Probability(&rows[i]); math.Abs(got-want[i]) > 1e-6 {
			t.Errorf("row %d: got probability %.12g, LightGBM gives %.12g", i, got, want[i])
		}
	}
}

func mustReadBytes(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParseFloat(t testing.TB, s string) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestImportVersionIsNotOverwritten(t *testing.T) {
	src := sharedtest.Testdata(t, "xgboost", "gbtree-missing.json")
	out := filepath.Join(t.TempDir(), "models")
	args := []string{"--xgboost", src, "--out", out, "--version", "imported-1"}
	if _, stderr, err := runImportCmd(t, args...); err != nil {
		t.Fatalf("got error %v (stderr %q), want none", err, stderr)
	}
	if _, err := model.LoadLatest(out, "imported-1"); err != nil {
		t.Fatal(err)
	}
	_, _, err := runImportCmd(t, args...)
	if err == nil || !strings.Contains(err.Error(), "version imported-1 already exists") {
		t.Fatalf("got error %v importing over an existing version, want one saying it exists", err)
	}
}

func TestImportRejects(t *testing.T) {
	dir := t.TempDir()
	xgb := sharedtest.Testdata(t, "xgboost", "gbtree-depth4.json")
	xgbData := string(mustReadBytes(t, xgb))
	lgb := sharedtest.Testdata(t, "lightgbm", "model_simple.txt")
	lgbData := string(mustReadBytes(t, lgb))
	write := func(name, content string) string { return mustWriteFile(t, dir, name, content) }
	truncatedJSON := write("truncated.json", xgbData[:len(xgbData)/2])
	truncatedUBJ := write("truncated.ubj", string(mustReadBytes(t, sharedtest.Testdata(t, "xgboost", "gbtree-depth4.ubj")))[:5000])
	multiclass := write("multiclass.json", strings.Replace(strings.Replace(xgbData, `"binary:logistic"`, `"multi:softprob"`, 1),
		`"num_class":"0"`, `"num_class":"3"`, 1))
	regression := write("regression.json", strings.Replace(xgbData, `"binary:logistic"`, `"reg:squarederror"`, 1))
	future := write("future.json", strings.Replace(xgbData, `"version":[1,7,4]`, `"version":[4,0,0]`, 1))
	noBest := write("nobest.json", strings.Replace(xgbData, `"best_iteration":"119"`, `"best_iter":"119"`, 1))
	pastBest := write("pastbest.json", strings.Replace(xgbData, `"best_iteration":"119"`, `"best_iteration":"500"`, 1))
	unnamed := write("unnamed.json", strings.Replace(xgbData, `"feature_names":["Time",`, `"feature_names":["f0",`, 1))
	lgbTruncated := write("truncated.txt", lgbData[:len(lgbData)/3])
	lgbMulticlass := write("multiclass.txt", strings.Replace(strings.Replace(lgbData, "num_class=1", "num_class=3", 1),
		"objective=binary sigmoid:1", "objective=multiclass num_class:3", 1))
	lgbRegression := write("regression.txt", strings.Replace(lgbData, "objective=binary sigmoid:1", "objective=regression", 1))
	lgbVersion := write("v9.txt", strings.Replace(lgbData, "version=v2", "version=v9", 1))
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no model", []string{"--out", "OUT"}, true, "one of --xgboost and --lightgbm is required"},
		{"two models", []string{"--xgboost", xgb, "--lightgbm", lgb, "--out", "OUT"}, true, "cannot be combined"},
		{"no out", []string{"--xgboost", xgb}, true, "--out is required"},
		{"bad threshold", []string{"--xgboost", xgb, "--out", "OUT", "--threshold", "1.5"}, true, "--threshold 1.5 must be a number from 0 to 1"},
		{"bad version", []string{"--xgboost", xgb, "--out", "OUT", "--version", "../x"}, true, "--version"},
		{"empty name", []string{"--xgboost", xgb, "--out", "OUT", "--name", " "}, true, "--name must not be empty"},
		{"bad created-at", []string{"--xgboost", xgb, "--out", "OUT", "--created-at", "yesterday"}, true, "--created-at"},
		{"stray argument", []string{"--xgboost", xgb, "--out", "OUT", "extra"}, true, `unexpected argument "extra"`},
		{"best-iteration with LightGBM", []string{"--lightgbm", lgb, "--out", "OUT", "--best-iteration"}, true, "--best-iteration applies to --xgboost only"},
		{"best-iteration without one in the file", []string{"--xgboost", noBest, "--out", "OUT", "--best-iteration"}, false, "records no best_iteration"},
		{"best-iteration past the trees", []string{"--xgboost", pastBest, "--out", "OUT", "--best-iteration"}, false, "best_iteration 500 is past the model's 120 boosting rounds"},
		{"missing file", []string{"--xgboost", filepath.Join(dir, "nope.json"), "--out", "OUT"}, false, "no such file"},
		{"truncated JSON", []string{"--xgboost", truncatedJSON, "--out", "OUT"}, false, "truncated"},
		{"truncated UBJSON", []string{"--xgboost", truncatedUBJ, "--out", "OUT"}, false, "truncated"},
		{"multiclass", []string{"--xgboost", multiclass, "--out", "OUT"}, false, `objective "multi:softprob" is not supported`},
		{"regression", []string{"--xgboost", regression, "--out", "OUT"}, false, `objective "reg:squarederror" is not supported`},
		{"future version", []string{"--xgboost", future, "--out", "OUT"}, false, "XGBoost version 4.0.0 is not supported"},
		{"foreign feature name", []string{"--xgboost", unnamed, "--out", "OUT", "--positional"}, false, `not in the transaction schema (Time, V1..V28, Amount): "f0"`},
		{"LightGBM as XGBoost", []string{"--xgboost", lgb, "--out", "OUT"}, false, "not an XGBoost model"},
		{"XGBoost as LightGBM", []string{"--lightgbm", xgb, "--out", "OUT"}, false, "not a LightGBM text model"},
		{"LightGBM truncated", []string{"--lightgbm", lgbTruncated, "--out", "OUT"}, false, "truncated"},
		{"LightGBM multiclass", []string{"--lightgbm", lgbMulticlass, "--out", "OUT"}, false, `objective "multiclass num_class:3" is not supported`},
		{"LightGBM regression", []string{"--lightgbm", lgbRegression, "--out", "OUT"}, false, `objective "regression" is not supported`},
		{"LightGBM unknown version", []string{"--lightgbm", lgbVersion, "--out", "OUT"}, false, `text format version "v9" is not supported`},
		{"LightGBM unnamed features", []string{"--lightgbm", lgb, "--out", "OUT"}, false, `not in the transaction schema (Time, V1..V28, Amount): "X1", "X2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "models")
			args := slices.Clone(tc.args)
			for i, a := range args {
				if a == "OUT" {
					args[i] = out
				}
			}
			stdout, _, err := runImportCmd(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			wantCode := 1
			if tc.usage {
				wantCode = 2
			}
			if code := exitCode(err, io.Discard); code != wantCode {
				t.Errorf("got exit status %d, want %d", code, wantCode)
			}
			if stdout != "" {
				t.Errorf("got output %q, want none", stdout)
			}
			mustBeEmpty(t, out)
		})
	}
}
