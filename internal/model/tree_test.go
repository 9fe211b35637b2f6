package model

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// refLeaf walks tree the slow, literal way: the reference that TreeEnsemble must agree with.
func refLeaf(tree []TreeNode, opts TreeOptions, x *[fraud.NumFeatures]float64) int {
	i := 0
	for !tree[i].IsLeaf {
		if refGoesLeft(tree[i], opts, x) {
			i = int(tree[i].Left)
		} else {
			i = int(tree[i].Right)
		}
	}
	return i
}

// refGoesLeft decides the split nd for x the slow, literal way.
func refGoesLeft(nd TreeNode, opts TreeOptions, x *[fraud.NumFeatures]float64) bool {
	f := nd.Feature
	if opts.FeatureMap != nil {
		f = opts.FeatureMap[f]
	}
	v := x[f]
	if nd.Categories != nil {
		if !math.IsNaN(v) && v > -1 && v < math.MaxInt32 {
			c := int(v)
			return c/32 < len(nd.Categories) && nd.Categories[c/32]&(1<<(c%32)) != 0
		}
		return false
	}
	if math.IsNaN(v) && nd.Missing != MissingNaN {
		v = 0
	}
	missing := math.IsNaN(v) || (nd.Missing == MissingZero && v >= -ZeroThreshold && v <= ZeroThreshold)
	switch {
	case missing:
		return nd.DefaultLeft
	case opts.Float32 && opts.LessOrEqual:
		return float32(v) <= float32(nd.Threshold)
	case opts.Float32:
		return float32(v) < float32(nd.Threshold)
	case opts.LessOrEqual:
		return v <= nd.Threshold
	default:
		return v < nd.Threshold
	}
}

// refMargin is the ensemble's margin by the definition, summed in tree order. Each product is
// converted explicitly, which rounds it before the sum (Go may otherwise fuse a multiply and an
// add), so that the result is the one TreeEnsemble promises bit for bit.
func refMargin(trees [][]TreeNode, opts TreeOptions, x *[fraud.NumFeatures]float64) float64 {
	if opts.Float32Sum {
		s := float32(opts.BaseMargin)
		for t, tree := range trees {
			w := float32(1)
			if opts.TreeWeights != nil {
				w = float32(opts.TreeWeights[t])
			}
			s += float32(float32(tree[refLeaf(tree, opts, x)].Value) * w)
		}
		return float64(s)
	}
	s := opts.BaseMargin
	for t, tree := range trees {
		w := 1.0
		if opts.TreeWeights != nil {
			w = opts.TreeWeights[t]
		}
		s += float64(tree[refLeaf(tree, opts, x)].Value * w)
	}
	return s
}

// randomTree grows a random tree of at most depth levels of splits over nfeat features, with
// every kind of split and missing rule when varied is set. Thresholds are drawn by threshold.
func randomTree(rng *rand.Rand, depth, nfeat int, varied bool, threshold func(f int) float64) []TreeNode {
	var tree []TreeNode
	var grow func(d int) int32
	grow = func(d int) int32 {
		i := int32(len(tree))
		tree = append(tree, TreeNode{Cover: float64(rng.IntN(1000))})
		if d == depth || (varied && rng.IntN(5) == 0) {
			tree[i].IsLeaf = true
			tree[i].Value = rng.NormFloat64()
			return i
		}
		nd := TreeNode{Feature: rng.IntN(nfeat), Cover: tree[i].Cover, DefaultLeft: rng.IntN(2) == 0}
		nd.Threshold = threshold(nd.Feature)
		if varied {
			switch rng.IntN(6) {
			case 0:
				nd.Missing = MissingZero
			case 1:
				nd.Missing = MissingNone
			case 2:
				nd.Categories = make([]uint32, 1+rng.IntN(2))
				for k := range nd.Categories {
					nd.Categories[k] = rng.Uint32()
				}
			}
		}
		nd.Left = grow(d + 1)
		nd.Right = grow(d + 1)
		tree[i] = nd
		return i
	}
	grow(0)
	return tree
}

// varietyRow returns a row whose values often sit on, or next to, the thresholds of trees made
// by randomTree with smallThreshold, and which holds NaN, zeros and small integers.
func varietyRow(rng *rand.Rand) [fraud.NumFeatures]float64 {
	var x [fraud.NumFeatures]float64
	for j := range x {
		switch rng.IntN(8) {
		case 0:
			x[j] = math.NaN()
		case 1:
			x[j] = 0
		case 2:
			x[j] = float64(rng.IntN(70) - 5) // categories, some negative, some beyond the sets
		case 3:
			x[j] = smallThreshold(rng)
		case 4:
			x[j] = math.Nextafter(smallThreshold(rng), math.Inf(1-2*rng.IntN(2)))
		case 5:
			x[j] = ZeroThreshold * float64(rng.IntN(5)-2) / 2 // in and around the zero band
		default:
			x[j] = 4 * rng.NormFloat64()
		}
	}
	return x
}

// smallThreshold draws from a small set of thresholds, so that rows hit them exactly.
func smallThreshold(rng *rand.Rand) float64 {
	ts := []float64{-1.5, -0.25, 0, 0.1, 0.7, 1.0000001, 3, ZeroThreshold, -ZeroThreshold, 1e-40}
	t := ts[rng.IntN(len(ts))]
	if rng.IntN(2) == 0 {
		t = float64(float32(t)) // some thresholds are float32 values, as XGBoost's are
	}
	return t
}

func mustTreeEnsemble(t testing.TB, trees [][]TreeNode, opts TreeOptions) *TreeEnsemble {
	t.Helper()
	e, err := NewTreeEnsemble(trees, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestTreeEnsembleMatchesDefinition(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts TreeOptions
	}{
		{"less float64", TreeOptions{}},
		{"less float32", TreeOptions{Float32: true}},
		{"less-or-equal float64", TreeOptions{LessOrEqual: true}},
		{"less-or-equal float32", TreeOptions{LessOrEqual: true, Float32: true}},
		{"weights, base and feature map", TreeOptions{BaseMargin: -2.5, FeatureMap: []int{29, 0, 3, 14, 7, 1}}},
		{"float32 sum with weights", TreeOptions{BaseMargin: -1.3862944, Float32: true, Float32Sum: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			nfeat := fraud.NumFeatures
			if tc.opts.FeatureMap != nil {
				nfeat = len(tc.opts.FeatureMap)
			}
			trees := make([][]TreeNode, 40)
			for i := range trees {
				trees[i] = randomTree(rng, 1+rng.IntN(7), nfeat, true, func(int) float64 { return smallThreshold(rng) })
			}
			if tc.opts.BaseMargin != 0 {
				tc.opts.TreeWeights = make([]float64, len(trees))
				for i := range tc.opts.TreeWeights {
					tc.opts.TreeWeights[i] = rng.Float64() * 2
					if tc.opts.Float32Sum {
						tc.opts.TreeWeights[i] = float64(float32(tc.opts.TreeWeights[i])) // as XGBoost's weight_drop
					}
				}
			}
			e := mustTreeEnsemble(t, trees, tc.opts)
			leaves := make([]int, 0, len(trees))
			for range 3000 {
				x := varietyRow(rng)
				leaves = e.LeafIndices(&x, leaves)
				for k, tree := range trees {
					if want := refLeaf(tree, tc.opts, &x); leaves[k] != want {
						t.Fatalf("tree %d, row %v: got leaf %d, want %d", k, x, leaves[k], want)
					}
				}
				if got, want := e.Margin(&x), refMargin(trees, tc.opts, &x); got != want {
					t.Fatalf("row %v: got margin %.17g, want %.17g", x, got, want)
				}
			}
		})
	}
}

// numericTree grows a random tree of plain numerical splits only, the kind the fast path walks:
// missing values are NaN (sent left or right) or none (NaN read as 0), and the leaves lie at
// uneven depths, from the root (a lone leaf, now and then) down to depth levels.
func numericTree(rng *rand.Rand, depth, nfeat int) []TreeNode {
	var tree []TreeNode
	var grow func(d int) int32
	grow = func(d int) int32 {
		i := int32(len(tree))
		tree = append(tree, TreeNode{})
		if d == depth || d > 0 && rng.IntN(4) == 0 || d == 0 && rng.IntN(16) == 0 {
			tree[i] = TreeNode{IsLeaf: true, Value: rng.NormFloat64()}
			return i
		}
		nd := TreeNode{Feature: rng.IntN(nfeat), Threshold: smallThreshold(rng), DefaultLeft: rng.IntN(2) == 0}
		if rng.IntN(4) == 0 {
			nd.Missing = MissingNone
		}
		nd.Left = grow(d + 1)
		nd.Right = grow(d + 1)
		tree[i] = nd
		return i
	}
	grow(0)
	return tree
}

// TestTreeFastPathMatchesDefinition compares the fast paths (eight walks in step through
// addGroup and step, or four through add3 for trees of depth 3 at most; one row with Margin
// and blocks of rows with MarginBatch) with refMargin,
// bit for bit, on ensembles of plain numerical splits that take no general step: NaN sent left
// and right, missing type none, leaves at uneven depths, rows on the thresholds, next to them,
// NaN, ±0 and ±Inf. Every count of trees from 1 to 17 fills the last group of eight with 1 to
// 8 trees; 64 trees make eight full groups.
func TestTreeFastPathMatchesDefinition(t *testing.T) {
	counts := []int{64, 1064} // a count from 1000 on: trees of depth 3 at most (tree3)
	for n := 1; n <= 17; n++ {
		counts = append(counts, n, 1000+n)
	}
	for _, tc := range []struct {
		name string
		opts TreeOptions
	}{
		{"less float64", TreeOptions{}},
		{"less float32", TreeOptions{Float32: true}},
		{"less-or-equal float64", TreeOptions{LessOrEqual: true}},
		{"less-or-equal float32", TreeOptions{LessOrEqual: true, Float32: true}},
		{"weights, base and feature map", TreeOptions{BaseMargin: -2.5, FeatureMap: []int{29, 0, 3, 14, 7, 1}}},
		{"float32 sum with weights", TreeOptions{BaseMargin: -1.3862944, Float32: true, Float32Sum: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(15, 16))
			nfeat := fraud.NumFeatures
			if tc.opts.FeatureMap != nil {
				nfeat = len(tc.opts.FeatureMap)
			}
			for _, c := range counts {
				// Depths up to 8 take the nodes' walk; up to 3, the complete trees of tree3.
				ntrees, depth := c%1000, 8
				if c >= 1000 {
					depth = 3
				}
				opts := tc.opts
				trees := make([][]TreeNode, ntrees)
				for i := range trees {
					trees[i] = numericTree(rng, 1+rng.IntN(depth), nfeat)
				}
				if opts.BaseMargin != 0 {
					opts.TreeWeights = make([]float64, ntrees)
					for i := range opts.TreeWeights {
						opts.TreeWeights[i] = rng.Float64() * 2
						if opts.Float32Sum {
							opts.TreeWeights[i] = float64(float32(opts.TreeWeights[i]))
						}
					}
				}
				e := mustTreeEnsemble(t, trees, opts)
				if e.special {
					t.Fatalf("%d trees: the ensemble takes the general step, want the fast path", ntrees)
				}
				if (e.three != nil) != (e.maxDepth <= 3) {
					t.Fatalf("%d trees of depth %d at most: laid out as complete trees of depth 3 is %v", ntrees, e.maxDepth, e.three != nil)
				}
				// Enough rows for two MarginBatch workers and a last, partial block.
				xs := make([][fraud.NumFeatures]float64, 2*minRowsPerWorker+batchBlock/4)
				for i := range xs {
					xs[i] = varietyRow(rng)
					for range 3 {
						xs[i][rng.IntN(fraud.NumFeatures)] = []float64{math.Copysign(0, -1), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
					}
				}
				batch := make([]float64, len(xs))
				e.MarginBatch(xs, batch)
				leaves := make([]int, 0, ntrees)
				for i := range xs {
					x := &xs[i]
					want := refMargin(trees, opts, x)
					got := e.Margin(x)
					if got != want {
						t.Fatalf("%d trees, row %v: got margin %.17g, want %.17g", ntrees, *x, got, want)
					}
					if walked := nodeWalk(e, x); math.Float64bits(got) != math.Float64bits(walked) {
						t.Fatalf("%d trees, row %v: margin %.17g, the nodes' walk %.17g", ntrees, *x, got, walked)
					}
					if batch[i] != want {
						t.Fatalf("%d trees, row %d of a batch, %v: got margin %.17g, want %.17g", ntrees, i, *x, batch[i], want)
					}
					leaves = e.LeafIndices(x, leaves)
					for k, tree := range trees {
						if want := refLeaf(tree, opts, x); leaves[k] != want {
							t.Fatalf("%d trees, tree %d, row %v: got leaf %d, want %d", ntrees, k, *x, leaves[k], want)
						}
					}
				}
			}
		})
	}
}

func TestSplitThresholdIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	specials := []float64{0, math.Copysign(0, -1), 1, -1, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32, 1e-45, 0.1, -0.1, 3.4e38, 16777216, 16777217, ZeroThreshold}
	thresholds := append([]float64(nil), specials...)
	for range 2000 {
		thresholds = append(thresholds, math.Ldexp(rng.Float64()-0.5, rng.IntN(300)-150))
	}
	for _, th := range thresholds {
		for _, f32 := range []bool{false, true} {
			for _, le := range []bool{false, true} {
				if f32 && (math.IsInf(float64(float32(th)), 0) || le && float32(th) == math.MaxFloat32) {
					continue // NewTreeEnsemble rejects the first; the second differs from x < t only at +Inf
				}
				b := splitThreshold(th, f32, le)
				check := func(x float64) {
					var want bool
					switch {
					case f32 && le:
						want = float32(x) <= float32(th)
					case f32:
						want = float32(x) < float32(th)
					case le:
						want = x <= th
					default:
						want = x < th
					}
					if got := x < b; got != want {
						t.Fatalf("threshold %g (float32 %v, <= %v): x=%.17g goes left %v, want %v (t'=%.17g)", th, f32, le, x, got, want, b)
					}
				}
				// Walk float64 neighbours of the threshold and of the float32 midpoints.
				for _, c := range []float64{th, b, float64(float32(th)), math.Nextafter(th, math.Inf(1))} {
					x := c
					for range 4 {
						x = math.Nextafter(x, math.Inf(-1))
					}
					for range 9 {
						check(x)
						x = math.Nextafter(x, math.Inf(1))
					}
				}
				check(math.Inf(-1))
				check(math.MaxFloat64)
				check(-math.MaxFloat64)
			}
		}
	}
}

func TestNewTreeEnsembleRejects(t *testing.T) {
	leaf := func(v float64) TreeNode { return TreeNode{IsLeaf: true, Value: v} }
	split := func(f int, th float64, l, r int32) TreeNode {
		return TreeNode{Feature: f, Threshold: th, Left: l, Right: r}
	}
	ok := []TreeNode{split(0, 1, 1, 2), leaf(1), leaf(2)}
	for _, tc := range []struct {
		name  string
		trees [][]TreeNode
		opts  TreeOptions
		want  string
	}{
		{"empty tree", [][]TreeNode{{}}, TreeOptions{}, "tree 0: no nodes"},
		{"child out of range", [][]TreeNode{{split(0, 1, 1, 3), leaf(1), leaf(2)}}, TreeOptions{}, "child 3 out of range"},
		{"negative child", [][]TreeNode{{split(0, 1, -1, 2), leaf(1), leaf(2)}}, TreeOptions{}, "child -1 out of range"},
		{"cycle to root", [][]TreeNode{{split(0, 1, 1, 0), leaf(1)}}, TreeOptions{}, "child 0 is reached twice"},
		{"shared child", [][]TreeNode{{split(0, 1, 1, 1), leaf(1)}}, TreeOptions{}, "child 1 is reached twice"},
		{"cycle", [][]TreeNode{{split(0, 1, 1, 2), split(1, 1, 3, 1), leaf(2), leaf(3)}}, TreeOptions{}, "reached twice"},
		{"orphan", [][]TreeNode{{split(0, 1, 1, 2), leaf(1), leaf(2), leaf(3)}}, TreeOptions{}, "node 3 is not reachable"},
		{"feature out of range", [][]TreeNode{{split(30, 1, 1, 2), leaf(1), leaf(2)}}, TreeOptions{}, "feature 30 out of range 0..29"},
		{"feature beyond map", [][]TreeNode{{split(2, 1, 1, 2), leaf(1), leaf(2)}}, TreeOptions{FeatureMap: []int{4, 5}}, "feature 2 out of range 0..1"},
		{"NaN threshold", [][]TreeNode{{split(0, math.NaN(), 1, 2), leaf(1), leaf(2)}}, TreeOptions{}, "threshold NaN is not finite"},
		{"float32 overflow", [][]TreeNode{{split(0, 1e300, 1, 2), leaf(1), leaf(2)}}, TreeOptions{Float32: true}, "overflows float32"},
		{"infinite leaf", [][]TreeNode{{split(0, 1, 1, 2), leaf(math.Inf(1)), leaf(2)}}, TreeOptions{}, "value +Inf is not finite"},
		{"negative cover", [][]TreeNode{{split(0, 1, 1, 2), {IsLeaf: true, Cover: -1}, leaf(2)}}, TreeOptions{}, "cover -1"},
		{"bad missing rule", [][]TreeNode{{{Threshold: 1, Left: 1, Right: 2, Missing: 7}, leaf(1), leaf(2)}}, TreeOptions{}, "unknown missing rule 7"},
		{"empty bitset", [][]TreeNode{{{Categories: []uint32{}, Left: 1, Right: 2}, leaf(1), leaf(2)}}, TreeOptions{}, "bitset of 0 words"},
		{"weights count", [][]TreeNode{ok}, TreeOptions{TreeWeights: []float64{1, 2}}, "2 tree weights for 1 trees"},
		{"NaN weight", [][]TreeNode{ok}, TreeOptions{TreeWeights: []float64{math.NaN()}}, "weight of tree 0 is NaN"},
		{"infinite base", [][]TreeNode{ok}, TreeOptions{BaseMargin: math.Inf(-1)}, "base margin -Inf"},
		{"map out of range", [][]TreeNode{ok}, TreeOptions{FeatureMap: []int{30}}, "maps to 30"},
		{"map not injective", [][]TreeNode{ok}, TreeOptions{FeatureMap: []int{3, 3}}, "model features 0 and 1 both map to V3"},
		{"names count", [][]TreeNode{ok}, TreeOptions{FeatureMap: []int{3}, FeatureNames: []string{"a", "b"}}, "2 feature names for 1 model features"},
		{"weighted overflow", [][]TreeNode{{leaf(1e300)}}, TreeOptions{TreeWeights: []float64{1e300}}, "overflows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTreeEnsemble(tc.trees, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTreeEnsembleLoneLeafAndNoTrees(t *testing.T) {
	x := exampleRow(t)
	e := mustTreeEnsemble(t, [][]TreeNode{{{IsLeaf: true, Value: 0.25}}, {{IsLeaf: true, Value: -1}}},
		TreeOptions{BaseMargin: 0.5, TreeWeights: []float64{2, 0.5}})
	if got := e.Margin(&x); got != 0.5 {
		t.Errorf("got margin %v, want 0.5", got)
	}
	if got := e.LeafIndices(&x, nil); !reflect.DeepEqual(got, []int{0, 0}) {
		t.Errorf("got leaves %v, want [0 0]", got)
	}
	empty := mustTreeEnsemble(t, nil, TreeOptions{BaseMargin: -3})
	if got := empty.Margin(&x); got != -3 {
		t.Errorf("got margin %v from no trees, want the base margin -3", got)
	}
}

func TestTreeEnsembleFileRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	trees := make([][]TreeNode, 25)
	for i := range trees {
		trees[i] = randomTree(rng, 1+rng.IntN(6), 6, true, func(int) float64 { return smallThreshold(rng) })
	}
	opts := TreeOptions{
		BaseMargin:   -1.3862943611198906,
		TreeWeights:  make([]float64, len(trees)),
		Float32:      true,
		Float32Sum:   true,
		FeatureMap:   []int{0, 29, 14, 4, 12, 10},
		FeatureNames: []string{"Time", "Amount", "V14", "V4", "V12", "V10"},
		Source:       "test",
	}
	for i := range opts.TreeWeights {
		opts.TreeWeights[i] = 1 / float64(i+1)
	}
	e := mustTreeEnsemble(t, trees, opts)
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadTrees(data)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*TreeEnsemble)
	if !reflect.DeepEqual(got.Trees(), e.Trees()) {
		t.Errorf("trees differ after a round trip through the file")
	}
	if !reflect.DeepEqual(got.Options(), opts) {
		t.Errorf("got options %+v, want %+v", got.Options(), opts)
	}
	for range 1000 {
		x := varietyRow(rng)
		if a, b := e.Margin(&x), got.Margin(&x); a != b {
			t.Fatalf("row %v: got margin %v after the round trip, want %v", x, b, a)
		}
	}
}

func TestLoadTreesRejects(t *testing.T) {
	good := `{"kind":"trees","features":` + mustJSON(t, fraud.FeatureNames()) + `,"float32":false,"less_or_equal":false,"base_margin":0,` +
		`"trees":[{"left":[1,-1,-1],"right":[2,-1,-1],"feature":[3,0,0],"threshold":[0.5,0,0],"default_left":[1,0,0],"value":[0,1,2],"cover":[3,1,2]}]}`
	if _, err := LoadTrees([]byte(good)); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"kind", `"kind":"trees"`, `"kind":"logreg"`, `kind is "logreg"`},
		{"unknown field", `"float32":false`, `"float32":false,"depth":3`, `unknown field "depth"`},
		{"features", `"Time"`, `"time"`, `features[0] is "time"`},
		{"short array", `"cover":[3,1,2]`, `"cover":[3,1]`, "cover has 2 entries, left has 3"},
		{"default_left value", `"default_left":[1,0,0]`, `"default_left":[2,0,0]`, "default_left is 2"},
		{"missing value", `"value":[0,1,2]`, `"value":[0,1,2],"missing":[5,0,0]`, "missing is 5"},
		{"cat node is a leaf", `"value":[0,1,2]`, `"value":[0,1,2],"cat_nodes":[1],"cat_sets":[[1]]`, "cat_nodes[0] = 1 is not a split node"},
		{"cat counts", `"value":[0,1,2]`, `"value":[0,1,2],"cat_nodes":[0]`, "1 cat_nodes but 0 cat_sets"},
		{"cycle", `"left":[1,-1,-1]`, `"left":[0,-1,-1]`, "child 0 is reached twice"},
		{"trailing data", `]}]}`, `]}]} {}`, "data after"},
		{"truncated", `]}]}`, `]}`, "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(good, tc.old, tc.new, 1)
			if bad == good {
				t.Fatalf("test case does not change the file")
			}
			_, err := LoadTrees([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestTreeBundleSaveLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	e := benchEnsemble(t, rng, 20, 4)
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	rows := benchRows(t, rng, 8)
	canaries := make([]Canary, len(rows))
	for i := range rows {
		canaries[i].Features = rows[i]
	}
	root := t.TempDir()
	dir, err := Save(root, Bundle{
		Manifest: Manifest{
			Name: "trees", Kind: KindTrees, Threshold: 0.5, CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			Members:  []MemberSpec{{Kind: KindTrees, File: TreesFile, Weight: 1}},
			Canaries: canaries,
		},
		Files: map[string][]byte{TreesFile: data},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != root {
		t.Errorf("got bundle %s, want one inside %s", dir, root)
	}
	for i := range rows {
		if got, want := m.Probability(&rows[i]), Sigmoid(e.Margin(&rows[i])); got != want {
			t.Errorf("row %d: got probability %v from the loaded bundle, want %v", i, got, want)
		}
	}
}

func TestMarginBatchEqualsMargin(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	e := benchEnsemble(t, rng, 50, 5)
	for _, n := range []int{0, 1, 63, 64, 65, 700, 3001} {
		xs := benchRows(t, rng, n)
		for i := range xs {
			if i%7 == 0 {
				xs[i][rng.IntN(fraud.NumFeatures)] = math.NaN()
			}
		}
		out := make([]float64, n)
		e.MarginBatch(xs, out)
		for i := range xs {
			if want := e.Margin(&xs[i]); out[i] != want {
				t.Fatalf("%d rows: row %d: got %v, want Margin's %v", n, i, out[i], want)
			}
		}
	}
}

func TestMarginBatchPanicsOnLengthMismatch(t *testing.T) {
	e := mustTreeEnsemble(t, [][]TreeNode{{{IsLeaf: true}}}, TreeOptions{})
	defer func() {
		if recover() == nil {
			t.Error("got no panic for 2 rows and 1 output, want one")
		}
	}()
	e.MarginBatch(make([][fraud.NumFeatures]float64, 2), make([]float64, 1))
}

func TestTreeMarginDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	e := benchEnsemble(t, rng, 30, 6)
	x := exampleRow(t)
	leaves := make([]int, 0, e.NumTrees())
	if n := testing.AllocsPerRun(100, func() {
		e.Margin(&x)
		leaves = e.LeafIndices(&x, leaves)
	}); n != 0 {
		t.Errorf("got %v allocations per Margin and LeafIndices, want 0", n)
	}
}

// benchEnsemble returns ntrees full trees of the given depth over the transaction features,
// with thresholds drawn where creditcard.csv's values lie, so that rows take varied paths.
func benchEnsemble(t testing.TB, rng *rand.Rand, ntrees, depth int) *TreeEnsemble {
	t.Helper()
	trees := make([][]TreeNode, ntrees)
	for i := range trees {
		trees[i] = randomTree(rng, depth, fraud.NumFeatures, false, func(f int) float64 {
			switch f {
			case 0:
				return float64(float32(rng.Float64() * 172792))
			case fraud.NumFeatures - 1:
				return float64(float32(rng.ExpFloat64() * 88))
			}
			return float64(float32(rng.NormFloat64()))
		})
		for j := range trees[i] {
			trees[i][j].Value *= 0.05
		}
	}
	return mustTreeEnsemble(t, trees, TreeOptions{BaseMargin: -6, Float32: true})
}

// benchRows returns n rows around the first creditcard.csv transaction: its Time and Amount
// spread over the data set's ranges and its components moved by unit noise.
func benchRows(t testing.TB, rng *rand.Rand, n int) [][fraud.NumFeatures]float64 {
	t.Helper()
	base := exampleRow(t)
	xs := make([][fraud.NumFeatures]float64, n)
	for i := range xs {
		xs[i] = base
		xs[i][0] = rng.Float64() * 172792
		for j := 1; j < fraud.NumFeatures-1; j++ {
			xs[i][j] += rng.NormFloat64()
		}
		xs[i][fraud.NumFeatures-1] = rng.ExpFloat64() * 88
	}
	return xs
}

// BenchmarkTreeMargin scores one row at a time through 300 trees of depth 6; ns/op is ns/row.
func BenchmarkTreeMargin(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	e := benchEnsemble(b, rng, 300, 6)
	xs := benchRows(b, rng, 1024)
	b.ReportAllocs()
	var sink float64
	i := 0
	for b.Loop() {
		sink += e.Margin(&xs[i&1023])
		i++
	}
	_ = sink
}

// BenchmarkTreeMarginBatch scores 4096 rows per op through 300 trees of depth 6 on every core;
// it reports ns/row.
func BenchmarkTreeMarginBatch(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	e := benchEnsemble(b, rng, 300, 6)
	xs := benchRows(b, rng, 4096)
	out := make([]float64, len(xs))
	b.ReportAllocs()
	for b.Loop() {
		e.MarginBatch(xs, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/row")
}

// FuzzLoadTrees checks that no member file makes LoadTrees panic, and that whatever it accepts
// scores the same after being written out and read back.
func FuzzLoadTrees(f *testing.F) {
	names := mustJSON(f, fraud.FeatureNames())
	f.Add([]byte(`{"kind":"trees","features":` + names + `,"float32":true,"less_or_equal":false,"base_margin":0.5,` +
		`"trees":[{"left":[1,-1,-1],"right":[2,-1,-1],"feature":[3,0,0],"threshold":[0.5,0,0],"default_left":[1,0,0],"value":[0,1,2],"cover":[3,1,2]}]}`))
	f.Add([]byte(`{"kind":"trees","features":` + names + `,"float32":false,"less_or_equal":true,"base_margin":0,"feature_map":[4,2],` +
		`"trees":[{"left":[1,-1,3,-1,-1],"right":[2,-1,4,-1,-1],"feature":[0,0,1,0,0],"threshold":[0,0,-1,0,0],"default_left":[0,0,1,0,0],` +
		`"missing":[1,0,2,0,0],"value":[0,1,2,3,4],"cover":[0,0,0,0,0],"cat_nodes":[0],"cat_sets":[[5]]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadTrees(data)
		if err != nil {
			return
		}
		e := m.(*TreeEnsemble)
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("accepted file does not encode: %v", err)
		}
		e2, err := DecodeTrees(again)
		if err != nil {
			t.Fatalf("re-encoded file does not load: %v", err)
		}
		rng := rand.New(rand.NewPCG(1, 1))
		for range 20 {
			x := varietyRow(rng)
			if a, b := e.Margin(&x), e2.Margin(&x); a != b {
				t.Fatalf("got margin %v after a round trip, want %v", b, a)
			}
		}
	})
}

// nodeWalk is Margin by the nodes' walk (addGroup), whatever layout the ensemble scores with.
func nodeWalk(e *TreeEnsemble, x *[fraud.NumFeatures]float64) float64 {
	var r scoringRow
	r.set(x)
	if e.float32Sum {
		s := float32(e.base)
		for gi := range e.groups {
			s = addGroup(e.nodes, s, &e.groups[gi], &r)
		}
		return float64(s)
	}
	s := e.base
	for gi := range e.groups {
		s = addGroup(e.nodes, s, &e.groups[gi], &r)
	}
	return s
}

// TestTree3SignedZero checks that complete trees of depth 3 give the sign of a zero sum the
// nodes' walk gives: its padding leaves (+0) make −0 + −0 + −0 into +0 when the last group of
// eight is short, and leave it −0 when it is full.
func TestTree3SignedZero(t *testing.T) {
	for _, n := range []int{3, 8, 11, 16} {
		trees := make([][]TreeNode, n)
		weights := make([]float64, n)
		for i := range trees {
			trees[i] = []TreeNode{{IsLeaf: true, Value: 0}}
			weights[i] = -1 // a leaf worth 0 × −1 = −0
		}
		e := mustTreeEnsemble(t, trees, TreeOptions{BaseMargin: math.Copysign(0, -1), TreeWeights: weights})
		if e.three == nil {
			t.Fatalf("%d lone leaves: not laid out as complete trees", n)
		}
		x := varietyRow(rand.New(rand.NewPCG(1, 1)))
		got, walked := e.Margin(&x), nodeWalk(e, &x)
		batch := make([]float64, 1)
		e.MarginBatch([][fraud.NumFeatures]float64{x}, batch)
		if math.Signbit(got) != math.Signbit(walked) || math.Signbit(batch[0]) != math.Signbit(walked) {
			t.Errorf("%d trees: margin %v (sign bit %v), batch %v, the nodes' walk %v (sign bit %v)", n, got, math.Signbit(got), batch[0], walked, math.Signbit(walked))
		}
		if wantNeg := n%groupSize == 0; math.Signbit(walked) != wantNeg {
			t.Errorf("%d trees: the nodes' walk gives %v, want sign bit %v", n, walked, wantNeg)
		}
	}
}
