package xgboost

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

// TestSplitGainIsLossChanges checks that every split node of an imported model carries the
// loss_changes XGBoost wrote for it, read from the JSON file directly, and that the gains
// summed by feature are XGBoost's own get_score(importance_type="total_gain"), kept in
// testdata/total_gain.json by make_gain.py.
func TestSplitGainIsLossChanges(t *testing.T) {
	dir := sharedtest.Testdata(t, "xgboost")
	var want struct {
		Models map[string]map[string]float64 `json:"models"`
	}
	if err := json.Unmarshal(mustReadFile(t, filepath.Join("testdata", "total_gain.json")), &want); err != nil {
		t.Fatal(err)
	}
	for _, name := range sharedModels {
		for _, ext := range []string{".json", ".ubj"} {
			t.Run(name+ext, func(t *testing.T) {
				m, e, err := Import(mustReadFile(t, filepath.Join(dir, name+ext)), Options{})
				if err != nil {
					t.Fatal(err)
				}
				var file struct {
					Learner struct {
						GradientBooster struct {
							Model struct {
								Trees []struct {
									LossChanges []float32 `json:"loss_changes"`
									Left        []int     `json:"left_children"`
								} `json:"trees"`
							} `json:"model"`
						} `json:"gradient_booster"`
					} `json:"learner"`
				}
				if err := json.Unmarshal(mustReadFile(t, filepath.Join(dir, name+".json")), &file); err != nil {
					t.Fatal(err)
				}
				trees := file.Learner.GradientBooster.Model.Trees
				if len(trees) != len(m.Trees) {
					t.Fatalf("got %d trees, the file has %d", len(m.Trees), len(trees))
				}
				splits := 0
				for k, tree := range m.Trees {
					if len(tree) != len(trees[k].LossChanges) {
						t.Fatalf("tree %d: got %d nodes, the file has %d (no node is deleted in these models)", k, len(tree), len(trees[k].LossChanges))
					}
					for i, nd := range tree {
						if nd.IsLeaf {
							continue
						}
						splits++
						if got, want := nd.Gain, float64(trees[k].LossChanges[i]); got != want {
							t.Fatalf("tree %d node %d: got gain %v, want loss_changes %v", k, i, got, want)
						}
					}
				}
				if splits == 0 {
					t.Fatal("no split node")
				}
				gain, ok := e.SplitGain()
				if !ok {
					t.Fatal("got no split gain")
				}
				total := want.Models[name]
				if len(total) == 0 {
					t.Fatalf("total_gain.json has no figures for %s", name)
				}
				for j, f := range fraud.FeatureNames() {
					w := total[f] // 0 for a feature no split uses, as get_score leaves it out
					if math.Abs(gain[j]-w) > 1e-6*math.Abs(w) {
						t.Errorf("%s: got total gain %.9g, XGBoost's get_score gives %.9g", f, gain[j], w)
					}
				}
			})
		}
	}
}
