package lightgbm

import (
	"bufio"
	"bytes"
	"errors"
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

func mustReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// mustReadTable reads a file of whitespace-separated numbers, one row a line.
func mustReadTable(t testing.TB, path string) [][]float64 {
	t.Helper()
	var rows [][]float64
	sc := bufio.NewScanner(bytes.NewReader(mustReadFile(t, path)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		row := make([]float64, len(fields))
		for j, f := range fields {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("%s line %d: %v", path, len(rows)+1, err)
			}
			row[j] = x
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// positionalRows puts rows of the 30 breast-cancer features into transactions by position.
func positionalRows(t testing.TB, rows [][]float64) [][fraud.NumFeatures]float64 {
	t.Helper()
	out := make([][fraud.NumFeatures]float64, len(rows))
	for i, r := range rows {
		if len(r) != fraud.NumFeatures {
			t.Fatalf("row %d has %d values, want %d", i, len(r), fraud.NumFeatures)
		}
		copy(out[i][:], r)
	}
	return out
}

// mustImportPositional imports a shared 30-feature model, mapping its features by position.
func mustImportPositional(t testing.TB, path string) (*Model, *model.TreeEnsemble) {
	t.Helper()
	m, e, err := Import(mustReadFile(t, path), Options{Positional: true})
	if err != nil {
		t.Fatal(err)
	}
	return m, e
}

// TestLeafIndicesMatchLightGBM checks the README's claim that the LightGBM v3 model gives
// LightGBM's leaf indices exactly on every row and tree.
func TestLeafIndicesMatchLightGBM(t *testing.T) {
	dir := sharedtest.Testdata(t, "lightgbm")
	m, e := mustImportPositional(t, filepath.Join(dir, "lg_breast_cancer.txt"))
	if m.Version != "v3" || len(m.Trees) != 39 {
		t.Fatalf("got version %s and %d trees, want v3 and 39", m.Version, len(m.Trees))
	}
	rows := positionalRows(t, mustReadTable(t, filepath.Join(dir, "lg_breast_cancer_data.txt")))
	want := mustReadTable(t, filepath.Join(dir, "lg_breast_cancer_data_pred_leaves.txt"))
	if len(want) != len(rows) {
		t.Fatalf("%d rows of leaves for %d rows", len(want), len(rows))
	}
	var leaves []int
	checked := 0
	for i := range rows {
		leaves = e.LeafIndices(&rows[i], leaves)
		if len(leaves) != len(m.Trees) || len(want[i]) != len(m.Trees) {
			t.Fatalf("row %d: got %d leaves, LightGBM gives %d, want one per tree (%d)", i, len(leaves), len(want[i]), len(m.Trees))
		}
		for k, node := range leaves {
			numLeaves := (len(m.Trees[k]) + 1) / 2
			if got := node - LeafNode(numLeaves, 0); float64(got) != want[i][k] {
				t.Errorf("row %d, tree %d: got leaf %d, LightGBM gives %v", i, k, got, want[i][k])
			}
			checked++
		}
	}
	t.Logf("lg_breast_cancer.txt: %d leaf indices over %d rows and %d trees, all equal to LightGBM's", checked, len(rows), len(m.Trees))
}

// dartProbabilityTolerance is the README's bound on the difference between the DART model's
// probabilities and LightGBM's: both compute in float64 (LightGBM's are stored to 19 digits),
// so they differ by a rounding or two.
const dartProbabilityTolerance = 1e-15

// TestDARTProbabilitiesMatchLightGBM checks the README's claim that the LightGBM v2 DART model
// gives LightGBM's probabilities within 1e-15.
func TestDARTProbabilitiesMatchLightGBM(t *testing.T) {
	dir := sharedtest.Testdata(t, "lightgbm")
	m, e := mustImportPositional(t, filepath.Join(dir, "lg_dart_breast_cancer.model"))
	if m.Version != "v2" || len(m.Trees) != 10 {
		t.Fatalf("got version %s and %d trees, want v2 and 10", m.Version, len(m.Trees))
	}
	rows := positionalRows(t, mustReadTable(t, filepath.Join(dir, "breast_cancer_test.tsv")))
	want := mustReadTable(t, filepath.Join(dir, "lg_dart_breast_cancer_true_predictions.txt"))
	if len(want) != len(rows) {
		t.Fatalf("%d predictions for %d rows", len(want), len(rows))
	}
	var maxDiff float64
	for i := range rows {
		p := model.Sigmoid(e.Margin(&rows[i]))
		d := math.Abs(p - want[i][0])
		if d > dartProbabilityTolerance {
			t.Errorf("row %d: got probability %.17g, LightGBM gives %.17g (|Δ| %.3g > %g)", i, p, want[i][0], d, dartProbabilityTolerance)
		}
		maxDiff = max(maxDiff, d)
	}
	t.Logf("lg_dart_breast_cancer.model: max |Δprobability| %.3g over %d rows", maxDiff, len(rows))
}

func TestCategoricalModel(t *testing.T) {
	dir := sharedtest.Testdata(t, "lightgbm")
	m, err := Parse(mustReadFile(t, filepath.Join(dir, "model_simple.txt")))
	if err != nil {
		t.Fatal(err)
	}
	// X1 and X2 read the first two transaction slots.
	e, err := m.Ensemble([]int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	// The file's two trees: X2 in {100} ? leaf 0 : (X1 <= 340.5 ? leaf 1 : leaf 2).
	leaf := [2][3]float64{
		{0.56697267424823339, 0.3584987837673016, 0.41213915936587919},
		{0.12883103567558912, -0.063872842243335157, -0.016484332942214807},
	}
	for _, tc := range []struct {
		name   string
		x1, x2 float64
		leaf   int
	}{
		{"category 100", 0, 100, 0},
		{"category 100.9 truncates to 100", 999, 100.9, 0},
		{"category 99, X1 below", 340.5, 99, 1},
		{"category 101, X1 above", 340.50000000000006 + 1e-13, 101, 2},
		{"category -0.5 truncates to 0", 10, -0.5, 1},
		{"negative category", 10, -100, 1},
		{"NaN category", 500, math.NaN(), 2},
		{"category beyond the bitset", 10, 1e6, 1},
		{"huge category", 10, 1e300, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var x [fraud.NumFeatures]float64
			x[0], x[1] = tc.x1, tc.x2
			if got := e.LeafIndices(&x, nil); !slices.Equal(got, []int{LeafNode(3, tc.leaf), LeafNode(3, tc.leaf)}) {
				t.Errorf("got nodes %v, want leaf %d in both trees", got, tc.leaf)
			}
			if got, want := e.Margin(&x), leaf[0][tc.leaf]+leaf[1][tc.leaf]; got != want {
				t.Errorf("got margin %v, want %v", got, want)
			}
		})
	}
}

// fixtureV4 is a hand-made model as LightGBM 4 writes it, over four transaction features, with
// every missing type, a categorical split, a lone-leaf tree and sigmoid 2:
//
//	tree 0: V14 <= -2.5 (missing NaN, left) ? 0.5
//	        : Amount <= 100.5 (missing zero, right) ? (V4 <= 1e-35 (missing zero, left) ? 0.125 : -0.0625) : -0.25
//	tree 1: V10 in {1, 2, 32} ? 0.01 : (V14 <= -1 (missing none: NaN is 0) ? -0.02 : 0.03)
//	tree 2: -0.001
const fixtureV4 = `tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=3
objective=binary sigmoid:2
feature_names=V14 Amount V4 V10
feature_infos=[-19.2:10.5] [0:25691.16] [-5.6:16.9] [-24.6:23.7]
tree_sizes=420 380 260

Tree=0
num_leaves=4
num_cat=0
split_feature=0 1 2
split_gain=10 5 1
threshold=-2.5 100.5 1.0000000180025095e-35
decision_type=10 4 6
left_child=-1 2 -3
right_child=1 -2 -4
leaf_value=0.5 -0.25 0.125 -0.0625
leaf_weight=1 2 3 4
leaf_count=10 20 30 40
internal_value=0 0.1 0.2
internal_weight=10 9 7
internal_count=100 90 70
is_linear=0
shrinkage=1


Tree=1
num_leaves=3
num_cat=1
split_feature=3 0
split_gain=3 2
threshold=0 -1
decision_type=1 0
left_child=-1 -2
right_child=1 -3
leaf_value=0.01 -0.02 0.03
leaf_weight=1 1 1
leaf_count=5 5 5
internal_value=0 0
internal_weight=3 2
internal_count=15 10
cat_boundaries=0 2
cat_threshold=6 1
is_linear=0
shrinkage=0.1


Tree=2
num_leaves=1
num_cat=0
split_feature=
split_gain=
threshold=
decision_type=
left_child=
right_child=
leaf_value=-0.001
leaf_weight=
leaf_count=100
internal_value=
internal_weight=
internal_count=
is_linear=0
shrinkage=1


end of trees

feature_importances:
V14=2
Amount=1
V4=1
V10=1

parameters:
[boosting: gbdt]
[objective: binary]
[sigmoid: 2]
end of parameters

pandas_categorical:null
`

func TestImportV4Fixture(t *testing.T) {
	m, e, err := Import([]byte(fixtureV4), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "v4" || m.Sigmoid != 2 || len(m.Trees) != 3 || !slices.Equal(m.Shrinkage, []float64{1, 0.1, 1}) {
		t.Fatalf("got version %s, sigmoid %v, %d trees, shrinkage %v", m.Version, m.Sigmoid, len(m.Trees), m.Shrinkage)
	}
	const (
		v4, v10, v14, amount = 4, 10, 14, 29
	)
	row := func(set map[int]float64) [fraud.NumFeatures]float64 {
		var x [fraud.NumFeatures]float64
		for j, v := range set {
			x[j] = v
		}
		return x
	}
	nan := math.NaN()
	leaves0 := []float64{0.5, -0.25, 0.125, -0.0625}
	leaves1 := []float64{0.01, -0.02, 0.03}
	for _, tc := range []struct {
		name         string
		x            [fraud.NumFeatures]float64
		leaf0, leaf1 int
	}{
		{"V14 below, V10 category 2", row(map[int]float64{v14: -3, v10: 2}), 0, 0},
		{"V14 NaN goes left, V10 NaN goes right, NaN V14 reads as 0", row(map[int]float64{v14: nan, v10: nan}), 0, 2},
		{"V14 at the threshold goes left, in both trees", row(map[int]float64{v14: -2.5, v10: 5}), 0, 1},
		{"Amount 0 is missing and goes right, category 32.7 is 32", row(map[int]float64{amount: 0, v10: 32.7}), 1, 0},
		{"Amount 1e-36 is missing, category -0.5 is 0", row(map[int]float64{amount: 1e-36, v10: -0.5}), 1, 2},
		{"Amount NaN is missing", row(map[int]float64{amount: nan, v14: -1}), 1, 1},
		{"V4 0 is missing and goes left, category 64 beyond the set", row(map[int]float64{amount: 50, v10: 64}), 2, 2},
		{"V4 at 1e-35 is missing", row(map[int]float64{amount: 50, v4: 1.0000000180025095e-35}), 2, 2},
		{"Amount at the edge of the zero band is missing", row(map[int]float64{amount: model.ZeroThreshold}), 1, 2},
		{"Amount at -1e-35 is missing", row(map[int]float64{amount: -model.ZeroThreshold}), 1, 2},
		{"Amount just past the zero band is not", row(map[int]float64{amount: math.Nextafter(model.ZeroThreshold, 1)}), 2, 2},
		{"V4 above the zero band", row(map[int]float64{amount: 100.5, v4: 2e-35, v10: -1}), 3, 2},
		{"V4 negative", row(map[int]float64{amount: 100, v4: -1e-30}), 2, 2},
		{"V14 -1 goes left in tree 1", row(map[int]float64{v14: -1, amount: 200, v10: nan}), 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := 2*leaves0[tc.leaf0] + 2*leaves1[tc.leaf1] + 2*-0.001
			if got := e.Margin(&tc.x); got != want {
				t.Errorf("got margin %v, want %v", got, want)
			}
			wantNodes := []int{LeafNode(4, tc.leaf0), LeafNode(3, tc.leaf1), 0}
			if got := e.LeafIndices(&tc.x, nil); !slices.Equal(got, wantNodes) {
				t.Errorf("got nodes %v, want %v", got, wantNodes)
			}
		})
	}
	if got := e.Trees()[0][0].Cover; got != 100 {
		t.Errorf("got cover %v at tree 0's root, want its internal_count 100", got)
	}
}

func TestImportAverageOutput(t *testing.T) {
	rf := strings.Replace(fixtureV4, "objective=binary sigmoid:2\n", "objective=binary sigmoid:2\naverage_output\n", 1)
	_, e, err := Import([]byte(rf), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var x [fraud.NumFeatures]float64
	x[14], x[10] = -3, 2
	if got, want := e.Margin(&x), 2*(0.5/3+0.01/3+-0.001/3); math.Abs(got-want) > 1e-15 {
		t.Errorf("got margin %v, want %v", got, want)
	}
}

func TestImportFeatureMapping(t *testing.T) {
	dir := sharedtest.Testdata(t, "lightgbm")
	data := mustReadFile(t, filepath.Join(dir, "lg_breast_cancer.txt"))
	if _, _, err := Import(data, Options{}); err == nil || !errors.Is(err, model.ErrUnnamedFeatures) ||
		!strings.Contains(err.Error(), "30 features named Column_0..Column_29") {
		t.Errorf("got error %v, want one saying the 30 features Column_0..Column_29 are unnamed", err)
	}
	renamed := strings.Replace(fixtureV4, "feature_names=V14 Amount V4 V10", "feature_names=V14 amount V4 v10", 1)
	if _, _, err := Import([]byte(renamed), Options{Positional: true}); err == nil ||
		!strings.Contains(err.Error(), `not in the transaction schema (Time, V1..V28, Amount): "amount", "v10"`) {
		t.Errorf("got error %v, want one naming amount and v10", err)
	}
}

func TestParseRejects(t *testing.T) {
	sub := func(old, new string) string {
		if !strings.Contains(fixtureV4, old) {
			t.Fatalf("fixture has no %q", old)
		}
		return strings.Replace(fixtureV4, old, new, 1)
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "empty file"},
		{"not a model", `{"learner": {}}`, "not a LightGBM text model"},
		{"truncated in a tree", fixtureV4[:strings.Index(fixtureV4, "Tree=1")+40], `truncated: no "end of trees" line`},
		{"truncated in the header", fixtureV4[:60], `truncated`},
		{"trees missing", sub("Tree=2\n", "\nend of trees\n\nTree=2\n"), "tree_sizes lists 3 trees, the file holds 2"},
		{"no version", sub("version=v4\n", ""), "no version line"},
		{"version v5", sub("version=v4", "version=v5"), `text format version "v5" is not supported (this build reads v2, v3, v4)`},
		{"multiclass", sub("num_class=1", "num_class=3") + "", "num_class is 3"},
		{"multiclass objective", sub("objective=binary sigmoid:2", "objective=multiclass num_class:3"), `objective "multiclass num_class:3" is not supported`},
		{"regression", sub("objective=binary sigmoid:2", "objective=regression"), `objective "regression" is not supported`},
		{"cross-entropy", sub("objective=binary sigmoid:2", "objective=cross_entropy"), `objective "cross_entropy" is not supported`},
		{"bad sigmoid", sub("sigmoid:2", "sigmoid:-1"), `sigmoid "-1" is not a positive number`},
		{"trees per iteration", sub("num_tree_per_iteration=1", "num_tree_per_iteration=3"), "num_tree_per_iteration is 3"},
		{"names count", sub("max_feature_idx=3", "max_feature_idx=4"), "feature_names lists 4 features, max_feature_idx says 5"},
		{"linear tree", sub("is_linear=0\nshrinkage=0.1", "is_linear=1\nshrinkage=0.1"), "tree 1: linear trees (is_linear=1) are not supported"},
		{"tree out of order", sub("Tree=1", "Tree=7"), `"Tree=7", want Tree=1`},
		{"short leaf values", sub("leaf_value=0.5 -0.25 0.125 -0.0625", "leaf_value=0.5 -0.25"), "tree 0: leaf_value has 2 values, want 4"},
		{"bad number", sub("threshold=-2.5 100.5", "threshold=-2.5x 100.5"), `tree 0: threshold[0] is "-2.5x"`},
		{"child out of range", sub("right_child=1 -2 -4", "right_child=1 -2 -9"), "tree 0: node 2: child -9 out of range for 4 leaves"},
		{"cycle", sub("left_child=-1 2 -3", "left_child=-1 0 -3"), "child 0 is reached twice"},
		{"feature out of range", sub("split_feature=0 1 2", "split_feature=0 1 4"), "tree 0: node 2: split feature 4 out of range (4 features)"},
		{"missing type 3", sub("decision_type=10 4 6", "decision_type=14 4 6"), "unknown missing type 3"},
		{"bitset index", sub("threshold=0 -1", "threshold=1 -1"), "categorical split names bitset 1 of 1"},
		{"bitset bounds", sub("cat_boundaries=0 2", "cat_boundaries=0 3"), "cat_boundaries [0 3] do not fit cat_threshold's 2 words"},
		{"garbage between trees", sub("\n\nTree=1", "\n\nhello\nTree=1"), `unexpected "hello" between trees`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Import([]byte(tc.data), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzParse checks that no input makes Parse, or building what it parses, panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fixtureV4))
	f.Add([]byte(strings.Replace(fixtureV4, "objective=binary sigmoid:2\n", "objective=binary sigmoid:2\naverage_output\n", 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		if len(m.FeatureNames) <= fraud.NumFeatures {
			fm := make([]int, len(m.FeatureNames))
			for i := range fm {
				fm[i] = i
			}
			m.Ensemble(fm) // may fail, must not panic
		}
	})
}

// TestExplainAddsUpOnLightGBMModels checks that the explanations of the shared LightGBM models
// (counts as covers, DART weights) add up to their margins: LightGBM sums in float64, as
// Explain does.
func TestExplainAddsUpOnLightGBMModels(t *testing.T) {
	dir := sharedtest.Testdata(t, "lightgbm")
	for _, tc := range []struct{ model, rows string }{
		{"lg_breast_cancer.txt", "lg_breast_cancer_data.txt"},
		{"lg_dart_breast_cancer.model", "breast_cancer_test.tsv"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			_, e := mustImportPositional(t, filepath.Join(dir, tc.model))
			rows := positionalRows(t, mustReadTable(t, filepath.Join(dir, tc.rows)))
			var ex model.Explanation
			var worst float64
			for i := range rows {
				if err := e.Explain(&rows[i], &ex); err != nil {
					t.Fatal(err)
				}
				sum := ex.BaseValue
				for _, c := range ex.Contributions {
					sum += c
				}
				d := math.Abs(sum - e.Margin(&rows[i]))
				if d > 1e-9 {
					t.Errorf("row %d: base value %.17g + contributions = %.17g, want the margin %.17g", i, ex.BaseValue, sum, e.Margin(&rows[i]))
				}
				worst = max(worst, d)
			}
			t.Logf("max |base value + Σ contributions − margin| %.3g over %d rows", worst, len(rows))
		})
	}
}

// TestSplitGainIsLightGBMs checks that the split nodes of an imported LightGBM model carry the
// split_gain lines of the file, node for node, and that the ensemble sums them by feature.
func TestSplitGainIsLightGBMs(t *testing.T) {
	path := filepath.Join(sharedtest.Testdata(t, "lightgbm"), "lg_breast_cancer.txt")
	m, e := mustImportPositional(t, path)
	var gains, features [][]float64
	sc := bufio.NewScanner(bytes.NewReader(mustReadFile(t, path)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		for key, dst := range map[string]*[][]float64{"split_gain=": &gains, "split_feature=": &features} {
			if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
				var row []float64
				for _, f := range strings.Fields(rest) {
					v, err := strconv.ParseFloat(f, 64)
					if err != nil {
						t.Fatal(err)
					}
					row = append(row, v)
				}
				*dst = append(*dst, row)
			}
		}
	}
	if len(gains) != len(m.Trees) || len(features) != len(m.Trees) {
		t.Fatalf("the file has %d split_gain and %d split_feature lines for %d trees", len(gains), len(features), len(m.Trees))
	}
	var want [fraud.NumFeatures]float64
	for k, tree := range m.Trees {
		for i, g := range gains[k] {
			if nd := tree[i]; nd.IsLeaf || nd.Gain != g {
				t.Fatalf("tree %d node %d: got %+v, want a split of gain %v", k, i, nd, g)
			}
			want[int(features[k][i])] += g
		}
	}
	got, ok := e.SplitGain()
	if !ok {
		t.Fatal("got no split gain")
	}
	for j := range got {
		if math.Abs(got[j]-want[j]) > 1e-12*max(1, want[j]) {
			t.Errorf("feature %d: got split gain %v, want %v", j, got[j], want[j])
		}
	}
}
