package xgboost

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

var testCreatedAt = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// mustBundleAndLoad makes the bundle of the model file at path, saves it and loads it back.
func mustBundleAndLoad(t testing.TB, path string, data []byte, opts Options) (*model.Imported, *model.Model) {
	t.Helper()
	imp, err := Bundle(data, opts, model.ImportSettings{File: path, Threshold: 0.5, CreatedAt: testCreatedAt, CanarySeed: 1})
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	dir, err := model.Save(t.TempDir(), imp.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return imp, m
}

// TestBundleMatchesXGBoost saves and loads the bundle of every shared model, JSON and UBJSON,
// and checks that it scores the vectors as XGBoost does, at the README's tolerances: the margins
// exactly, the probabilities within 1e-7.
func TestBundleMatchesXGBoost(t *testing.T) {
	dir := sharedtest.Testdata(t, "xgboost")
	for _, name := range sharedModels {
		v, rows := mustReadVectors(t, filepath.Join(dir, name+".vectors.json"))
		for _, ext := range []string{".json", ".ubj"} {
			t.Run(name+ext, func(t *testing.T) {
				path := filepath.Join(dir, name+ext)
				imp, m := mustBundleAndLoad(t, path, mustReadFile(t, path), Options{})
				if imp.Mapping != "30 features mapped by name" {
					t.Errorf("got mapping %q, want the features mapped by name", imp.Mapping)
				}
				man := m.Manifest
				if man.Kind != model.KindTrees || man.Name != name || man.Threshold != 0.5 ||
					man.Training.Algorithm != "xgboost-import" || man.Training.Data != name+ext ||
					len(man.Members) != 1 || man.Members[0] != (model.MemberSpec{Kind: model.KindTrees, File: model.TreesFile, Weight: 1}) ||
					len(man.Canaries) != model.ImportCanaries || man.Bias != 0 || !man.CreatedAt.Equal(testCreatedAt) {
					t.Errorf("got manifest %+v", man)
				}
				p := man.Training.Params
				if p["objective"] != "binary:logistic" || !strings.HasPrefix(p["xgboost_version"].(string), "1.") ||
					p["trees"] != float64(imp.Ensemble.NumTrees()) || p["feature_mapping"] != imp.Mapping || p["positional"] != false {
					t.Errorf("got training params %v", p)
				}
				var maxP float64
				for i := range rows {
					got := m.Probability(&rows[i])
					d := math.Abs(got - v.Probability[i])
					if d > xgboostProbabilityTolerance {
						t.Errorf("row %d: got probability %.9g, XGBoost gives %.9g (|Δ| %.3g > %g)", i, got, v.Probability[i], d, xgboostProbabilityTolerance)
					}
					maxP = max(maxP, d)
					if got := m.Margin(&rows[i]); got != v.Margin[i] {
						t.Errorf("row %d: got margin %.9g, XGBoost gives %.9g, want it exactly", i, got, v.Margin[i])
					}
				}
				t.Logf("%s: loaded bundle over %d rows: max |Δprobability| %.3g", name+ext, len(rows), maxP)
			})
		}
	}
}

// TestBundleBestIteration bundles a model whose file says early stopping found round 59 of
// 120 best: with BestIteration the first 60 trees are kept, without it all 120, and the
// manifest says which.
func TestBundleBestIteration(t *testing.T) {
	path := filepath.Join(sharedtest.Testdata(t, "xgboost"), "gbtree-depth4.json")
	data := []byte(strings.Replace(string(mustReadFile(t, path)), `"best_iteration":"119"`, `"best_iteration":"59"`, 1))
	for _, tc := range []struct {
		best  bool
		trees float64
	}{{false, 120}, {true, 60}} {
		imp, m := mustBundleAndLoad(t, path, data, Options{BestIteration: tc.best})
		p := m.Manifest.Training.Params
		if p["trees"] != tc.trees || p["best_iteration"] != 59.0 || p["up_to_best_round"] != tc.best || p["rounds_in_file"] != 120.0 {
			t.Errorf("best iteration %v: got manifest params %v, want %v trees, best_iteration 59, rounds_in_file 120", tc.best, p, tc.trees)
		}
		if imp.Ensemble.NumTrees() != int(tc.trees) {
			t.Errorf("best iteration %v: got %d trees, want %v", tc.best, imp.Ensemble.NumTrees(), tc.trees)
		}
	}
}

func TestBundleBaseScoreReadsAsWritten(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{float64(float32(0.2)), 0.2},
		{0.5, 0.5},
		{float64(float32(0.1)), 0.1},
	} {
		if got := float32Decimal(tc.in); got != tc.want {
			t.Errorf("float32Decimal(%.17g): got %.17g, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBundleRejects(t *testing.T) {
	path := filepath.Join(sharedtest.Testdata(t, "xgboost"), "gbtree-depth4.json")
	data := mustReadFile(t, path)
	unnamed := []byte(strings.Replace(string(data), `"feature_names":["Time",`, `"feature_names":["f0",`, 1))
	for _, tc := range []struct {
		name string
		data []byte
		s    model.ImportSettings
		want string
	}{
		{"threshold above 1", data, model.ImportSettings{File: path, Threshold: 1.5, CreatedAt: testCreatedAt}, "threshold 1.5 is not between 0 and 1"},
		{"not XGBoost", []byte("tree\nversion=v3\n"), model.ImportSettings{File: path, Threshold: 0.5, CreatedAt: testCreatedAt}, "not an XGBoost model"},
		{"a foreign name", unnamed, model.ImportSettings{File: path, Threshold: 0.5, CreatedAt: testCreatedAt}, `"f0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Bundle(tc.data, Options{}, tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
