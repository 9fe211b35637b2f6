package lightgbm

import (
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

// TestBundleMatchesLightGBM saves and loads the bundle of a DART model whose 30 unnamed
// features stand in for the transaction's by position, and checks that it scores the test
// rows as LightGBM does, within the README's 1e-15.
func TestBundleMatchesLightGBM(t *testing.T) {
	dir := sharedtest.Testdata(t, "lightgbm")
	path := filepath.Join(dir, "lg_dart_breast_cancer.model")
	data := mustReadFile(t, path)
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	s := model.ImportSettings{File: path, Name: "breast-cancer", Threshold: 0.3, CreatedAt: created, Positional: true, CanarySeed: 7}

	if _, err := Bundle(data, Options{}, s); !errors.Is(err, model.ErrUnnamedFeatures) {
		t.Fatalf("got error %v without Positional, want one wrapping model.ErrUnnamedFeatures", err)
	}
	imp, err := Bundle(data, Options{Positional: true}, s)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if imp.Mapping != "30 unnamed features mapped by position" {
		t.Errorf("got mapping %q, want the features mapped by position", imp.Mapping)
	}
	bundleDir, err := model.Save(t.TempDir(), imp.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	man := m.Manifest
	if man.Name != "breast-cancer" || man.Threshold != 0.3 || man.Training.Algorithm != "lightgbm-import" ||
		man.Training.Data != "lg_dart_breast_cancer.model" || len(man.Canaries) != model.ImportCanaries {
		t.Errorf("got manifest %+v", man)
	}
	p := man.Training.Params
	if p["lightgbm_format"] != "v2" || p["trees"] != 10.0 || p["average_output"] != false ||
		p["positional"] != true || p["canary_seed"] != 7.0 || p["feature_mapping"] != imp.Mapping {
		t.Errorf("got training params %v", p)
	}

	rows := positionalRows(t, mustReadTable(t, filepath.Join(dir, "breast_cancer_test.tsv")))
	want := mustReadTable(t, filepath.Join(dir, "lg_dart_breast_cancer_true_predictions.txt"))
	if len(want) != len(rows) {
		t.Fatalf("%d predictions for %d rows", len(want), len(rows))
	}
	for i := range rows {
		if got := m.Probability(&rows[i]); math.Abs(got-want[i][0]) > dartProbabilityTolerance {
			t.Errorf("row %d: got probability %.17g, LightGBM gives %.17g (|Δ| %.3g > %g)", i, got, want[i][0], math.Abs(got-want[i][0]), dartProbabilityTolerance)
		}
	}
}
