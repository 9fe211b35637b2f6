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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
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

// TestImportXGBoost runs the command on a shared model, as JSON and as UBJSON, and checks its
// output and the bundle it leaves; the bundle's fidelity to XGBoost is tested in
// internal/model/xgboost.
func TestImportXGBoost(t *testing.T) {
	v := mustReadXGBVectors(t, sharedtest.Testdata(t, "xgboost", "gbtree-depth4.vectors.json"))
	for _, ext := range []string{".json", ".ubj"} {
		t.Run(ext, func(t *testing.T) {
			src := sharedtest.Testdata(t, "xgboost", "gbtree-depth4"+ext)
			out := filepath.Join(t.TempDir(), "models")
			stdout, stderr, err := runImportCmd(t, "--xgboost", src, "--out", out, "--created-at", "2024-05-06T07:08:09Z")
			if err != nil {
				t.Fatalf("got error %v (stderr %q), want none", err, stderr)
			}
			m, err := model.LoadLatest(out, "")
			if err != nil {
				t.Fatal(err)
			}
			want := "imported xgboost 1.7.4 gbtree binary:logistic from " + src + ": 120 trees, depth up to 4\n" +
				"  features: 30 features mapped by name\n" +
				"  threshold 0.5; 32 canary rows recorded\n" +
				"bundle: " + m.Dir + "\n"
			if stdout != want {
				t.Errorf("got output\n%s\nwant\n%s", stdout, want)
			}
			man := m.Manifest
			if man.Name != "gbtree-depth4" || man.Training.Algorithm != "xgboost-import" ||
				man.CreatedAt.Format(time.RFC3339) != "2024-05-06T07:08:09Z" || !strings.HasPrefix(man.Version, "20240506-070809-") {
				t.Errorf("got manifest name %q, algorithm %q, created %v, version %q", man.Name, man.Training.Algorithm, man.CreatedAt, man.Version)
			}
			for i := range v.rows {
				if got := m.Probability(&v.rows[i]); math.Abs(got-v.probability[i]) > 1e-6 {
					t.Errorf("row %d: got probability %.9g, XGBoost gives %.9g", i, got, v.probability[i])
				}
			}
		})
	}
}

// TestImportBestIteration imports a model whose file says early stopping found round 59 of
// 120 best: --best-iteration keeps the first 60 trees, without it all 120 score.
func TestImportBestIteration(t *testing.T) {
	src := sharedtest.Testdata(t, "xgboost", "gbtree-depth4.json")
	data := strings.Replace(string(mustReadBytes(t, src)), `"best_iteration":"119"`, `"best_iteration":"59"`, 1)
	path := mustWriteFile(t, t.TempDir(), "stopped.json", data)
	for _, tc := range []struct {
		args  []string
		trees string
		up    bool
	}{{nil, "120 trees", false}, {[]string{"--best-iteration"}, "60 trees", true}} {
		out := filepath.Join(t.TempDir(), "models")
		stdout, stderr, err := runImportCmd(t, append([]string{"--xgboost", path, "--out", out}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: got error %v (stderr %q)", tc.args, err, stderr)
		}
		if !strings.Contains(stdout, tc.trees) {
			t.Errorf("%v: got output %q, want %s", tc.args, stdout, tc.trees)
		}
		m, err := model.LoadLatest(out, "")
		if err != nil {
			t.Fatal(err)
		}
		if p := m.Manifest.Training.Params; p["up_to_best_round"] != tc.up {
			t.Errorf("%v: got manifest params %v, want up_to_best_round %v", tc.args, p, tc.up)
		}
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
	if !strings.Contains(stdout, "threshold 0.3; 32 canary rows recorded\nbundle: "+m.Dir+"\n") {
		t.Errorf("got output %q, want the threshold, the canaries and the bundle %s", stdout, m.Dir)
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
	noCovers := write("nocovers.json", regexp.MustCompile(`"sum_hessian":\[[^\]]*\]`).ReplaceAllStringFunc(xgbData, func(s string) string {
		return `"sum_hessian":[0` + strings.Repeat(",0", strings.Count(s, ",")) + `]`
	}))
	header := "Time," + strings.Join(fraud.FeatureNames()[1:], ",")
	row := "0" + strings.Repeat(",0.5", fraud.NumFeatures-1)
	unlabelled := write("unlabelled.csv", header+"\n"+row+"\n")
	badRef := write("bad.csv", header+",Class\n"+row+",0\n"+row+",x\n")
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
		{"weight-normal without reference", []string{"--xgboost", xgb, "--out", "OUT", "--weight-normal", "2"}, true, "--weight-normal weighs the rows of --reference: give --reference too"},
		{"weight-normal 0", []string{"--xgboost", xgb, "--out", "OUT", "--reference", unlabelled, "--weight-normal", "0"}, true, "--weight-normal 0 must be a positive number"},
		{"missing reference", []string{"--xgboost", xgb, "--out", "OUT", "--reference", filepath.Join(dir, "nope.csv")}, false, "--reference: open"},
		{"reference without Class", []string{"--xgboost", xgb, "--out", "OUT", "--reference", unlabelled, "--weight-normal", "2"}, false, "has no Class column, which --weight-normal needs"},
		{"bad reference row", []string{"--xgboost", xgb, "--out", "OUT", "--reference", badRef}, false, `bad.csv:3: column Class: "x" is not a class label`},
		{"reference for a model without covers", []string{"--xgboost", noCovers, "--out", "OUT", "--reference", unlabelled}, false, "the model cannot be explained, so mean |SHAP| cannot be measured"},
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

// TestImportReference imports a model with a reference sample of the real transaction sample,
// normal rows weighing 56.863: the bundle holds 500 of its rows, the same for the same seed,
// each weighing 56.863 when the file labels it normal and 1 when fraud, and the manifest the
// mean |SHAP| measured on them; without --reference the bundle has none, and its importance
// is the split gain alone.
func TestImportReference(t *testing.T) {
	src := sharedtest.Testdata(t, "xgboost", "gbtree-depth4.json")
	data := sharedtest.Data(t, "creditcard-sample-train.csv")
	tbl, err := dataset.ReadAll(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	label := map[[fraud.NumFeatures]float64]uint8{}
	for i := range tbl.Rows() {
		var x [fraud.NumFeatures]float64
		for j := range x {
			x[j] = tbl.Columns[j][i]
		}
		label[x] = tbl.Labels[i]
	}
	var refs [2][]byte
	for k := range refs {
		out := filepath.Join(t.TempDir(), "models")
		stdout, stderr, err := runImportCmd(t, "--xgboost", src, "--out", out, "--reference", data, "--weight-normal", "56.863", "--seed", "3")
		if err != nil {
			t.Fatalf("got error %v (stderr %q), want none", err, stderr)
		}
		m, err := model.LoadLatest(out, "")
		if err != nil {
			t.Fatal(err)
		}
		wantLine := "  reference: a uniform sample of 500 of the 3363 rows of creditcard-sample-train.csv (reservoir sampling, seed 3); normal rows weigh 56.863, frauds 1; mean |SHAP| measured on it\n"
		if !strings.Contains(stdout, wantLine) {
			t.Errorf("got output %q, want the line %q", stdout, wantLine)
		}
		info := m.Manifest.Reference
		if info == nil || info.Rows != model.MaxReferenceRows || len(info.MeanAbsSHAP) != fraud.NumFeatures || m.Manifest.FormatVersion != 3 {
			t.Fatalf("got reference %+v, format %d, want %d rows and mean |SHAP| in format 3", info, m.Manifest.FormatVersion, model.MaxReferenceRows)
		}
		// Every row of the file, not the sample, is binned for drift.
		if d := m.Drift(); d == nil || d.Rows != 3363 || len(d.Features) != fraud.NumFeatures-1 {
			t.Fatalf("got drift %+v, want the 3363 rows binned for %d features", d, fraud.NumFeatures-1)
		}
		if imp := m.Importance(); imp.ReferenceRows != model.MaxReferenceRows || imp.SplitGain == nil {
			t.Errorf("got importance with %d reference rows and split gains %v", imp.ReferenceRows, imp.SplitGain)
		}
		refs[k] = mustReadBytes(t, filepath.Join(m.Dir, model.ReferenceFile))
		var f struct {
			Rows    [][fraud.NumFeatures]float64 `json:"rows"`
			Weights []float64                    `json:"weights"`
		}
		if err := json.Unmarshal(refs[k], &f); err != nil {
			t.Fatal(err)
		}
		frauds := 0
		for i, x := range f.Rows {
			c, ok := label[x]
			if !ok {
				t.Fatalf("reference row %d is not a row of the file", i)
			}
			if want := map[uint8]float64{0: 56.863, 1: 1}[c]; f.Weights[i] != want {
				t.Errorf("reference row %d of class %d weighs %v, want %v", i, c, f.Weights[i], want)
			}
			frauds += int(c)
		}
		if frauds == 0 || frauds == len(f.Rows) {
			t.Errorf("got %d frauds among %d reference rows, want both classes", frauds, len(f.Rows))
		}
	}
	if !bytes.Equal(refs[0], refs[1]) {
		t.Error("two imports with the same seed kept different reference rows")
	}

	out := filepath.Join(t.TempDir(), "models")
	if _, stderr, err := runImportCmd(t, "--xgboost", src, "--out", out); err != nil {
		t.Fatalf("got error %v (stderr %q), want none", err, stderr)
	}
	m, err := model.LoadLatest(out, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, model.ReferenceFile)); !os.IsNotExist(err) {
		t.Errorf("got %s in a bundle imported without --reference (%v)", model.ReferenceFile, err)
	}
	if imp := m.Importance(); m.Manifest.Reference != nil || imp.ReferenceRows != 0 || imp.MeanAbsSHAP != nil || imp.SplitGain == nil {
		t.Errorf("got reference %+v and importance %+v, want split gains alone", m.Manifest.Reference, imp)
	}
	if m.Drift() != nil || m.Manifest.FormatVersion != 2 {
		t.Errorf("got drift %v in format %d, want none in format 2 without --reference", m.Drift() != nil, m.Manifest.FormatVersion)
	}
}
