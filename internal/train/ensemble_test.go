package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

// mixedTable returns n rows whose fraud probability has a linear part over six features, which
// a logistic regression learns at once and trees only piecewise, plus a corner of the V1-V2
// plane, which only trees can draw.
func mixedTable(t testing.TB, n int, seed uint64) *dataset.Table {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	return ruleTable(t, n, seed, 0, func(x *[fraud.NumFeatures]float64) bool {
		linear := -10 + 2.5*(x[3]+x[4]-x[10]-x[12]-x[14]+x[11])
		p := model.Sigmoid(linear)
		if x[1] > 1.2 && x[2] > 1.2 {
			p = 0.9
		}
		return rng.Float64() < p
	})
}

func TestEnsembleProbabilityIsTheBlend(t *testing.T) {
	tbl := mixedTable(t, 4000, 21)
	res := mustTrain(t, tbl, AlgoEnsemble, Config{GBDT: smallGBDT(), Seed: 4})
	man := res.Bundle.Manifest
	if man.Kind != model.KindEnsemble || len(man.Members) != 2 {
		t.Fatalf("got kind %q with %d members, want an ensemble of 2", man.Kind, len(man.Members))
	}
	bl := res.Blend
	if man.Bias != bl.Bias || man.Members[0].Weight != bl.WeightTrees || man.Members[1].Weight != bl.WeightLogreg {
		t.Errorf("got bias %v and weights %v, %v in the manifest, want the blend %+v", man.Bias, man.Members[0].Weight, man.Members[1].Weight, bl)
	}
	if !(bl.WeightTrees > 0 && bl.WeightLogreg > 0) {
		t.Errorf("got blend %+v, want both members used on a rule with a linear and a non-linear part", bl)
	}
	root := t.TempDir()
	if _, err := model.Save(root, res.Bundle); err != nil {
		t.Fatal(err)
	}
	m, err := model.LoadLatest(root, "")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 500 {
		var x [fraud.NumFeatures]float64
		for j := range x {
			x[j] = tbl.Columns[j][rng.IntN(tbl.Rows())]
		}
		if i%5 == 0 {
			x[rng.IntN(fraud.NumFeatures)] = math.NaN()
		}
		want := model.Sigmoid(bl.Bias + bl.WeightTrees*res.Trees.Margin(&x) + bl.WeightLogreg*res.Member.Margin(&x))
		if got := m.Probability(&x); got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("row %d: got probability %v from the loaded bundle, want sigmoid(bias + Σ w·margin) = %v", i, got, want)
		}
	}
	// Each member alone does worse than the blend here.
	gb := mustTrain(t, tbl, AlgoGBDT, Config{GBDT: smallGBDT(), Seed: 4})
	lr := mustTrain(t, tbl, AlgoLogreg, Config{})
	t.Logf("validation AUPRC: ensemble %.4f, gbdt %.4f, logreg %.4f", res.Validation.AUPRC, gb.Validation.AUPRC, lr.Validation.AUPRC)
	if !(res.Validation.AUPRC > lr.Validation.AUPRC) || !(res.Validation.AUPRC >= gb.Validation.AUPRC-0.01) {
		t.Errorf("got validation AUPRC %.4f for the ensemble, gbdt %.4f, logreg %.4f: want the ensemble above logreg and not below gbdt",
			res.Validation.AUPRC, gb.Validation.AUPRC, lr.Validation.AUPRC)
	}
}

func TestEnsembleIsDeterministic(t *testing.T) {
	tbl := mixedTable(t, 2000, 22)
	cfg := Config{GBDT: smallGBDT(), Seed: 9, Name: "twice"}
	a := mustSaveDigest(t, mustTrain(t, tbl, AlgoEnsemble, cfg))
	if b := mustSaveDigest(t, mustTrain(t, tbl, AlgoEnsemble, cfg)); a != b {
		t.Errorf("got bundles %s and %s from two identical runs, want the same bytes", a, b)
	}
}

func TestTableWeightsActLikeNormalWeight(t *testing.T) {
	tbl := mixedTable(t, 2000, 23)
	weighted := *tbl
	weighted.WeightColumn = "w"
	weighted.Weights = make([]float64, tbl.Rows())
	for i, y := range tbl.Labels {
		weighted.Weights[i] = 1
		if y == 0 {
			weighted.Weights[i] = 4
		}
	}
	cfg := Config{GBDT: smallGBDT(), Seed: 2}
	a := mustTrain(t, &weighted, AlgoEnsemble, cfg)
	cfg.NormalWeight = 4
	b := mustTrain(t, tbl, AlgoEnsemble, cfg)
	if a.Blend != b.Blend || a.Threshold != b.Threshold || a.Validation != b.Validation {
		t.Errorf("got blend %+v threshold %v validation %+v with row weights, want %+v %v %+v as with NormalWeight",
			a.Blend, a.Threshold, a.Validation, b.Blend, b.Threshold, b.Validation)
	}
	if got := a.Bundle.Manifest.Training.Params["weight_column"]; got != "w" {
		t.Errorf("got weight_column %v, want w", got)
	}
	// Normal rows weighing 4 each count 4 times in the weighted confusion matrix.
	if v := a.Validation; math.Abs(v.Confusion.FP+v.Confusion.TN-4*float64(v.Rows-v.Frauds)) > 1e-9 {
		t.Errorf("got weighted normals %v, want %v", v.Confusion.FP+v.Confusion.TN, 4*(v.Rows-v.Frauds))
	}
}

func TestFitBlend(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 20000
	tests := []struct {
		name     string
		bias     float64
		coef     [2]float64
		wantCoef [2]float64 // the coefficients the fit should find, about
	}{
		{"both members", -1, [2]float64{1.5, 0.5}, [2]float64{1.5, 0.5}},
		{"second member pushes the wrong way", -1, [2]float64{1, -0.8}, [2]float64{-1, 0}},
		{"first member useless", 0.5, [2]float64{0, 2}, [2]float64{0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := [][]float64{make([]float64, n), make([]float64, n)}
			y := make([]uint8, n)
			w := make([]float64, n)
			for i := range n {
				z[0][i] = rng.NormFloat64() * 2
				z[1][i] = 0.5*z[0][i] + rng.NormFloat64()
				if rng.Float64() < model.Sigmoid(tc.bias+tc.coef[0]*z[0][i]+tc.coef[1]*z[1][i]) {
					y[i] = 1
				}
				w[i] = 1 + float64(i%2)
			}
			bias, coef, err := fitBlend(z, y, w)
			if err != nil {
				t.Fatal(err)
			}
			for k, c := range coef {
				if c < 0 {
					t.Errorf("got coefficient %d = %v, want >= 0", k, c)
				}
			}
			if tc.wantCoef[0] < 0 {
				// The unconstrained optimum has a negative weight: that member is dropped.
				if coef[1] != 0 || !(coef[0] > 0) {
					t.Errorf("got coefficients %v, want the second dropped to 0 and the first positive", coef)
				}
				return
			}
			for k := range coef {
				if math.Abs(coef[k]-tc.wantCoef[k]) > 0.1 {
					t.Errorf("got coefficient %d = %.3f, want about %.3f", k, coef[k], tc.wantCoef[k])
				}
			}
			if math.Abs(bias-tc.bias) > 0.1 {
				t.Errorf("got bias %.3f, want about %.3f", bias, tc.bias)
			}
		})
	}
}

func TestHalveValidation(t *testing.T) {
	tests := []struct {
		name       string
		times      []float64
		labels     []uint8
		wantTune   []int
		wantHalved bool
		wantCut    float64
	}{
		{"even", []float64{1, 2, 3, 4}, []uint8{1, 0, 0, 1}, []int{0, 1}, true, 3},
		// The rows at the cut share their Time: both go to the later half.
		{"tie moves the cut", []float64{1, 2, 3, 3, 4, 5}, []uint8{1, 0, 0, 1, 1, 0}, []int{0, 1}, true, 3},
		// Moving the cut for a tie leaves one fraud alone in the earlier half: no halves.
		{"tie leaves a one-class half", []float64{1, 2, 2, 3, 4}, []uint8{1, 0, 1, 0, 1}, []int{0, 1, 2, 3, 4}, false, 1},
		{"a half without frauds", []float64{1, 2, 3, 4}, []uint8{0, 0, 1, 1}, []int{0, 1, 2, 3}, false, 1},
		{"one row", []float64{1}, []uint8{1}, []int{0}, false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl := &dataset.Table{Labels: tc.labels}
			tbl.Columns[0] = tc.times
			rows := make([]int, len(tc.times))
			for i := range rows {
				rows[i] = i
			}
			h := halveValidation(tbl, rows)
			if h.Halved != tc.wantHalved || !slices.Equal(h.Tune, tc.wantTune) || h.Cut != tc.wantCut {
				t.Errorf("got tune %v halved %v cut %v, want %v %v %v", h.Tune, h.Halved, h.Cut, tc.wantTune, tc.wantHalved, tc.wantCut)
			}
			if !tc.wantHalved && !slices.Equal(h.Report, rows) {
				t.Errorf("got report rows %v, want all of them when not halved", h.Report)
			}
			if tc.wantHalved && len(h.Tune)+len(h.Report) != len(rows) {
				t.Errorf("got %d + %d rows, want %d", len(h.Tune), len(h.Report), len(rows))
			}
		})
	}
}

// TestEnsembleOnSampleData trains as `make model` does (the shipped model's data, flags, seed,
// name and creation time) and checks the figures the README gives for the shipped model, to the
// precision it prints them, and that the bundle is the shipped one byte for byte. Training is
// deterministic whatever GOMAXPROCS is (TestGBDTIsDeterministic), so the figures are
// exact, not floors.
func TestEnsembleOnSampleData(t *testing.T) {
	tbl, err := dataset.ReadAll(context.Background(), sharedtest.Data(t, "creditcard-sample-train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// The Makefile's MODEL_SEED, MODEL_CREATED_AT and --name.
	cfg := Config{L2: DefaultL2, NormalWeight: 56.863, Seed: 20261126, Name: "default", CreatedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	res := mustTrain(t, tbl, AlgoEnsemble, cfg)
	v, tu := res.Validation, res.Tuning
	t.Logf("ensemble: %d trees, blend %+v; tuning ROC-AUC %.4f AUPRC %.4f; validation %d rows, %d frauds, ROC-AUC %.4f, AUPRC %.4f, recall@1%%FPR %.4f, threshold %.4g, precision %.4f recall %.4f",
		res.Boosting.Trees, res.Blend, tu.ROCAUC, tu.AUPRC, v.Rows, v.Frauds, v.ROCAUC, v.AUPRC, v.RecallAt1PctFPR, res.Threshold, v.Precision, v.Recall)
	if res.Refit == nil {
		t.Fatal("got no refit, want the refit on every row")
	}
	// README, "The shipped model": "3 bags of depth-3 trees (1,014 after the refit) and the
	// logistic regression, refitted on all 3,363 rows. [...] Its validation figures, measured
	// before the refit on the latest 337 rows of the file (27 frauds): ROC-AUC 0.9866, AUPRC
	// 0.8907, and at its threshold 0.127 precision 1.00 and recall 0.89."
	for _, c := range []struct {
		name string
		got  string
		want string
	}{
		{"bags", fmt.Sprint(res.Boosting.Bags), "3"},
		{"trees after the refit", fmt.Sprint(res.Refit.Trees), "1014"},
		{"refit rows", fmt.Sprint(res.Refit.Rows), "3363"},
		{"validation rows", fmt.Sprint(v.Rows), "337"},
		{"validation frauds", fmt.Sprint(v.Frauds), "27"},
		{"validation ROC-AUC", fmt.Sprintf("%.4f", v.ROCAUC), "0.9866"},
		{"validation AUPRC", fmt.Sprintf("%.4f", v.AUPRC), "0.8907"},
		{"threshold", fmt.Sprintf("%.3f", res.Threshold), "0.127"},
		{"validation precision", fmt.Sprintf("%.2f", v.Precision), "1.00"},
		{"validation recall", fmt.Sprintf("%.2f", v.Recall), "0.89"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %s, want the README's %s", c.name, c.got, c.want)
		}
	}
	// The whole validation split (96 frauds) is steadier than its later half (27), if a little
	// optimistic since its earlier half tuned the model; the README gives no figure for it.
	var scores []float64
	var labels []uint8
	var weights []float64
	for _, i := range res.Split.Validation {
		var x [fraud.NumFeatures]float64
		for j := range x {
			x[j] = tbl.Columns[j][i]
		}
		scores = append(scores, model.Sigmoid(res.Blend.Bias+res.Blend.WeightTrees*res.Trees.Margin(&x)+res.Blend.WeightLogreg*res.Member.Margin(&x)))
		labels = append(labels, tbl.Labels[i])
		weights = append(weights, map[uint8]float64{0: 56.863, 1: 1}[tbl.Labels[i]])
	}
	all := Evaluate(scores, labels, weights, res.Threshold)
	t.Logf("whole validation split: %d rows, %d frauds, ROC-AUC %.4f, AUPRC %.4f", all.Rows, all.Frauds, all.ROCAUC, all.AUPRC)
	if all.ROCAUC <= 0.97 {
		t.Errorf("got ROC-AUC %.4f on the validation split, want > 0.97", all.ROCAUC)
	}
	// README: "make model rebuilds it byte for byte". The version names the content's hash.
	dir, err := model.Save(t.TempDir(), res.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := filepath.Glob(filepath.Join(sharedtest.Root(t), "models", "*", "manifest.json"))
	if err != nil || len(shipped) != 1 {
		t.Fatalf("got shipped manifests %v (%v), want one in models/", shipped, err)
	}
	if got, want := filepath.Base(dir), filepath.Base(filepath.Dir(shipped[0])); got != want {
		t.Errorf("got bundle version %s, want the shipped model's %s (run make model)", got, want)
	}
}
