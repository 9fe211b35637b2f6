package model

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// importedStump is a one-split tree over feature V14 and Amount, its two model features named
// names (nil: unnamed).
func importedStump(t testing.TB, names []string) ImportedTrees {
	t.Helper()
	v14, amount := 14, fraud.NumFeatures-1
	trees := [][]TreeNode{{
		{Feature: 0, Threshold: -2, Left: 1, Right: 2},
		{IsLeaf: true, Value: 1.5},
		{Feature: 1, Threshold: 100, Left: 3, Right: 4},
		{IsLeaf: true, Value: -2},
		{IsLeaf: true, Value: 0.25},
	}}
	e := mustTreeEnsemble(t, trees, TreeOptions{FeatureMap: []int{v14, amount}, FeatureNames: names, Source: "test"})
	return ImportedTrees{Library: "test", Ensemble: e, Params: map[string]any{"trees": 1}}
}

func TestBundleImported(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	s := ImportSettings{File: filepath.Join("some", "dir", "stump.model.json"), Threshold: 0.4, CreatedAt: created, CanarySeed: 3}
	tr := importedStump(t, []string{"V14", "Amount"})
	imp, err := BundleImported(tr, s)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	man := imp.Bundle.Manifest
	if man.Name != "stump.model" || man.Training.Data != "stump.model.json" || man.Training.Algorithm != "test-import" ||
		man.Threshold != 0.4 || !man.CreatedAt.Equal(created) || man.Kind != KindTrees || man.Version != "" {
		t.Errorf("got manifest %+v", man)
	}
	if imp.Mapping != "2 features mapped by name" {
		t.Errorf("got mapping %q, want the 2 features mapped by name", imp.Mapping)
	}
	wantParams := map[string]any{"trees": 1, "positional": false, "feature_mapping": imp.Mapping, "canary_seed": uint64(3)}
	if !reflect.DeepEqual(man.Training.Params, wantParams) {
		t.Errorf("got params %v, want %v", man.Training.Params, wantParams)
	}
	if len(tr.Params) != 1 {
		t.Errorf("got the caller's params changed to %v, want them left alone", tr.Params)
	}
	if len(man.Canaries) != ImportCanaries {
		t.Fatalf("got %d canaries, want %d", len(man.Canaries), ImportCanaries)
	}

	// The canaries follow the seed, and the bundle saves and loads.
	again, err := BundleImported(importedStump(t, []string{"V14", "Amount"}), s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Bundle.Manifest.Canaries, man.Canaries) {
		t.Errorf("got other canaries from the same seed")
	}
	s.CanarySeed = 4
	other, err := BundleImported(importedStump(t, []string{"V14", "Amount"}), s)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(other.Bundle.Manifest.Canaries, man.Canaries) {
		t.Errorf("got the same canaries from seeds 3 and 4")
	}
	m := mustLoad(t, mustSave(t, t.TempDir(), imp.Bundle))
	for i, c := range m.Manifest.Canaries {
		if c.Probability != m.Probability(&c.Features) {
			t.Errorf("canary %d: manifest says %v, model gives %v", i, c.Probability, m.Probability(&c.Features))
		}
	}
}

func TestBundleImportedMapping(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names []string
		want  string
	}{
		{"named", []string{"V14", "Amount"}, "2 features mapped by name"},
		{"unnamed", nil, "2 unnamed features mapped by position"},
		{"placeholders", []string{"f0", "f1"}, "2 unnamed features mapped by position"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imp, err := BundleImported(importedStump(t, tc.names), ImportSettings{File: "m.json", Threshold: 0.5, CreatedAt: time.Unix(0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			if imp.Mapping != tc.want || imp.Bundle.Manifest.Training.Params["feature_mapping"] != tc.want {
				t.Errorf("got mapping %q, want %q", imp.Mapping, tc.want)
			}
		})
	}
}

func TestBundleImportedChecksTheBundle(t *testing.T) {
	_, err := BundleImported(importedStump(t, nil), ImportSettings{File: "m.json", Threshold: -0.1, CreatedAt: time.Unix(0, 0)})
	if err == nil || !strings.Contains(err.Error(), "threshold -0.1 is not between 0 and 1") {
		t.Errorf("got error %v, want one about the threshold", err)
	}
}

func TestReadImportFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.json")
	if err := os.WriteFile(path, []byte(`{"learner":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadImportFile(path); err != nil || string(data) != `{"learner":{}}` {
		t.Errorf("got %q, %v, want the file's content", data, err)
	}
	if _, err := ReadImportFile(filepath.Join(dir, "nope.json")); !os.IsNotExist(err) {
		t.Errorf("got error %v for a missing file, want one saying it does not exist", err)
	}
}
