package api

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/model/xgboost"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
	"github.com/fraudguard/fraudguard/wire"
)

// mustImportedModel imports the XGBoost parity model gbtree-depth4 without a reference sample.
func mustImportedModel(t testing.TB) *model.Model {
	t.Helper()
	data, err := os.ReadFile(sharedtest.Testdata(t, "xgboost", "gbtree-depth4.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := xgboost.Bundle(data, xgboost.Options{}, model.ImportSettings{
		File: "gbtree-depth4.json", Threshold: 0.5, CreatedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), CanarySeed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := model.Save(t.TempDir(), imp.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// treeGains sums the split gains of the bundle's tree member by feature, from its file.
func treeGains(t testing.TB, m *model.Model) [fraud.NumFeatures]float64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(m.Dir, model.TreesFile))
	if err != nil {
		t.Fatal(err)
	}
	e, err := model.DecodeTrees(data)
	if err != nil {
		t.Fatal(err)
	}
	var gain [fraud.NumFeatures]float64
	fm := e.Options().FeatureMap
	for _, tree := range e.Trees() {
		for _, nd := range tree {
			if nd.IsLeaf {
				continue
			}
			f := nd.Feature
			if fm != nil {
				f = fm[f]
			}
			gain[f] += nd.Gain
		}
	}
	return gain
}

// TestModelInfoImportance checks importance and explanations in GET /models/info over HTTP:
// for the shipped model, mean |SHAP| from its reference sample and the split gain of its trees
// with their shares, largest mean |SHAP| first; for an imported model without a reference
// sample, the split gain alone, largest first, and no mean_abs_shap key; for a model with a tree
// without covers, explanations unavailable with the reason; for models with neither a
// reference sample nor split gains, no importance.
func TestModelInfoImportance(t *testing.T) {
	for _, tc := range []struct {
		name      string
		m         *model.Model
		reference bool // mean |SHAP| from a reference sample
		gain      bool // split gains
		explains  bool
	}{
		{"shipped", mustShippedModel(t), true, true, true},
		{"imported without reference", mustImportedModel(t), false, true, true},
		{"trees without covers or gains", mustTreeModel(t, 0), false, false, false},
		{"logistic regression", mustModel(t), false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustServer(t, Options{}, staticModels{tc.m})
			w := do(t, s, request{method: "GET", path: "/models/info"})
			if w.Code != 200 {
				t.Fatalf("got %d %s, want 200", w.Code, w.Body)
			}
			var info wire.ModelInfoResponse
			strictDecode(t, w.Body.Bytes(), &info)
			raw := decodeBody(t, w)

			ex, _ := raw["explanations"].(map[string]any)
			if ex == nil || ex["available"] != tc.explains {
				t.Errorf("got explanations %v, want available %v", raw["explanations"], tc.explains)
			}
			_, hasReason := ex["reason"]
			if tc.explains && hasReason {
				t.Errorf("got a reason %v for a model that explains", ex["reason"])
			}
			if !tc.explains && !strings.Contains(info.Explanations.Reason, "has no node covers") {
				t.Errorf("got reason %q, want one saying a tree has no node covers", info.Explanations.Reason)
			}

			if !tc.reference && !tc.gain {
				if _, ok := raw["importance"]; ok {
					t.Errorf("got importance %v, want none for a model with neither measure", raw["importance"])
				}
				return
			}
			imp := info.Importance
			if imp == nil || len(imp.Features) != fraud.NumFeatures {
				t.Fatalf("got importance %+v, want all %d features", imp, fraud.NumFeatures)
			}
			wantRows := 0
			if tc.reference {
				wantRows = tc.m.Manifest.Reference.Rows
			}
			if imp.ReferenceRows != wantRows {
				t.Errorf("got reference_rows %d, want %d", imp.ReferenceRows, wantRows)
			}
			gains := treeGains(t, tc.m)
			var total float64
			for _, g := range gains {
				total += g
			}
			index := map[string]int{}
			for j, f := range fraud.FeatureNames() {
				index[f] = j
			}
			var shares float64
			for k, f := range imp.Features {
				j, ok := index[f.Feature]
				if !ok {
					t.Fatalf("features[%d]: unknown feature %q", k, f.Feature)
				}
				delete(index, f.Feature)
				rawF := raw["importance"].(map[string]any)["features"].([]any)[k].(map[string]any)
				if _, ok := rawF["mean_abs_shap"]; ok != tc.reference {
					t.Errorf("%s: got mean_abs_shap key %v, want %v", f.Feature, ok, tc.reference)
				}
				if tc.reference && *f.MeanAbsSHAP != tc.m.Manifest.Reference.MeanAbsSHAP[j] {
					t.Errorf("%s: got mean_abs_shap %v, want the manifest's %v", f.Feature, *f.MeanAbsSHAP, tc.m.Manifest.Reference.MeanAbsSHAP[j])
				}
				if f.SplitGain == nil || f.SplitGainShare == nil {
					t.Fatalf("%s: got no split gain or share", f.Feature)
				}
				if math.Abs(*f.SplitGain-gains[j]) > 1e-9*total {
					t.Errorf("%s: got split_gain %v, want the trees' %v", f.Feature, *f.SplitGain, gains[j])
				}
				if math.Abs(*f.SplitGainShare-gains[j]/total) > 1e-12 {
					t.Errorf("%s: got split_gain_share %v, want %v", f.Feature, *f.SplitGainShare, gains[j]/total)
				}
				shares += *f.SplitGainShare
				if k == 0 {
					continue
				}
				prev := imp.Features[k-1]
				key, prevKey := *f.SplitGain, *prev.SplitGain
				if tc.reference {
					key, prevKey = *f.MeanAbsSHAP, *prev.MeanAbsSHAP
				}
				if key > prevKey || key == prevKey && index[f.Feature] < index[prev.Feature] {
					t.Errorf("features[%d] %s (%v) after %s (%v): want largest first, ties in feature order", k, f.Feature, key, prev.Feature, prevKey)
				}
			}
			if math.Abs(shares-1) > 1e-9 {
				t.Errorf("got shares summing to %v, want 1", shares)
			}
			t.Logf("first three: %s, %s, %s", imp.Features[0].Feature, imp.Features[1].Feature, imp.Features[2].Feature)
		})
	}
}

// TestModelInfoImportanceJSON checks the field names of importance on the wire, as the README
// and the OpenAPI document give them.
func TestModelInfoImportanceJSON(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustShippedModel(t)})
	var raw struct {
		Importance struct {
			ReferenceRows int                          `json:"reference_rows"`
			Features      []map[string]json.RawMessage `json:"features"`
		} `json:"importance"`
		Explanations map[string]json.RawMessage `json:"explanations"`
	}
	if err := json.Unmarshal(do(t, s, request{method: "GET", path: "/models/info"}).Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Importance.ReferenceRows != model.MaxReferenceRows || len(raw.Importance.Features) != fraud.NumFeatures {
		t.Fatalf("got %d reference rows and %d features", raw.Importance.ReferenceRows, len(raw.Importance.Features))
	}
	for _, k := range []string{"feature", "mean_abs_shap", "split_gain", "split_gain_share"} {
		if _, ok := raw.Importance.Features[0][k]; !ok {
			t.Errorf("importance.features[0] lacks %q: %v", k, raw.Importance.Features[0])
		}
	}
	if string(raw.Explanations["available"]) != "true" {
		t.Errorf("got explanations %v, want available true", raw.Explanations)
	}
}
