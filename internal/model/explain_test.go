package model

import (
	"encoding/json"
	"errors"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// refLeafValue is what leaf nd adds to the margin of tree t: its value times the tree's weight,
// rounded as the ensemble rounds it.
func refLeafValue(nd TreeNode, t int, opts TreeOptions) float64 {
	w := 1.0
	if opts.TreeWeights != nil {
		w = opts.TreeWeights[t]
	}
	if opts.Float32Sum {
		return float64(float32(nd.Value) * float32(w))
	}
	return nd.Value * w
}

// refConditional is the value path-dependent TreeSHAP explains, by its definition: the output
// of node i of tree t when the features in known follow x and every other split descends into
// both children, each weighted by its cover over the node's.
func refConditional(tree []TreeNode, t, i int, opts TreeOptions, x *[fraud.NumFeatures]float64, known map[int]bool) float64 {
	nd := tree[i]
	if nd.IsLeaf {
		return refLeafValue(nd, t, opts)
	}
	f := nd.Feature
	if opts.FeatureMap != nil {
		f = opts.FeatureMap[f]
	}
	if known[f] {
		if refGoesLeft(nd, opts, x) {
			return refConditional(tree, t, int(nd.Left), opts, x, known)
		}
		return refConditional(tree, t, int(nd.Right), opts, x, known)
	}
	l, r := tree[nd.Left], tree[nd.Right]
	return (l.Cover*refConditional(tree, t, int(nd.Left), opts, x, known) +
		r.Cover*refConditional(tree, t, int(nd.Right), opts, x, known)) / nd.Cover
}

// bruteForceShapley returns the base value and the Shapley values of the ensemble's
// conditional expectation (refConditional) for x, by enumerating every subset of the features
// the trees split on.
func bruteForceShapley(trees [][]TreeNode, opts TreeOptions, x *[fraud.NumFeatures]float64) (float64, [fraud.NumFeatures]float64) {
	var used []int
	seen := map[int]bool{}
	for _, tree := range trees {
		for _, nd := range tree {
			if nd.IsLeaf {
				continue
			}
			f := nd.Feature
			if opts.FeatureMap != nil {
				f = opts.FeatureMap[f]
			}
			if !seen[f] {
				seen[f] = true
				used = append(used, f)
			}
		}
	}
	n := len(used)
	value := make([]float64, 1<<n)
	for s := range value {
		known := map[int]bool{}
		for k, f := range used {
			if s>>k&1 != 0 {
				known[f] = true
			}
		}
		value[s] = opts.BaseMargin
		if opts.Float32Sum {
			value[s] = float64(float32(opts.BaseMargin))
		}
		for t, tree := range trees {
			value[s] += refConditional(tree, t, 0, opts, x, known)
		}
	}
	fact := func(k int) float64 { return math.Gamma(float64(k + 1)) }
	var phi [fraud.NumFeatures]float64
	for k, f := range used {
		for s := range value {
			if s>>k&1 != 0 {
				continue
			}
			size := bits.OnesCount(uint(s))
			phi[f] += fact(size) * fact(n-size-1) / fact(n) * (value[s|1<<k] - value[s])
		}
	}
	return value[0], phi
}

// shapTree grows a random tree over nfeat features for the brute-force comparison: leaves at
// uneven depths, every kind of split (NaN sent left and right, missing type zero and none,
// categories), and covers as training gives them (see setCovers).
func shapTree(rng *rand.Rand, nfeat int) []TreeNode {
	tree := randomTree(rng, 1+rng.IntN(6), nfeat, true, func(int) float64 { return smallThreshold(rng) })
	setCovers(rng, tree, 0)
	return tree
}

// setCovers sets the covers of the subtree at i and returns its root's: a leaf gets a random
// cover, now and then 0 (no training row reached it), and a split node the sum of its
// children's, give or take 1% (XGBoost's float32 sums do not add up exactly), or 1 when both
// are 0.
func setCovers(rng *rand.Rand, tree []TreeNode, i int32) float64 {
	nd := &tree[i]
	switch {
	case nd.IsLeaf && rng.IntN(6) == 0:
		nd.Cover = 0
	case nd.IsLeaf:
		nd.Cover = float64(rng.IntN(60)) + rng.Float64()
	default:
		sum := setCovers(rng, tree, nd.Left) + setCovers(rng, tree, nd.Right)
		nd.Cover = sum * (1 + 0.01*(2*rng.Float64()-1))
		if sum == 0 {
			nd.Cover = 1
		}
	}
	return nd.Cover
}

// TestTreeExplainMatchesBruteForce compares TreeEnsemble.Explain with the Shapley values of the
// cover-weighted conditional expectation computed by enumerating every subset of the features
// split on (at most 8), for every kind of split, rows on and beside the thresholds, NaN, zero
// and categories, tree weights, a base margin and float32 sums.
func TestTreeExplainMatchesBruteForce(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts TreeOptions
	}{
		{"less float64", TreeOptions{FeatureMap: []int{3, 0, 14, 29, 7, 1, 22, 10}}},
		{"less float32", TreeOptions{Float32: true, FeatureMap: []int{29, 0, 3, 14, 7, 1}}},
		{"less-or-equal float64", TreeOptions{LessOrEqual: true, FeatureMap: []int{5, 6, 7}}},
		{"less-or-equal float32", TreeOptions{LessOrEqual: true, Float32: true, FeatureMap: []int{12, 13, 0, 28, 29}}},
		{"weights and base", TreeOptions{BaseMargin: -2.5, FeatureMap: []int{29, 0, 3, 14, 7, 1, 2}}},
		{"float32 sum with weights", TreeOptions{BaseMargin: -1.3862944, Float32: true, Float32Sum: true, FeatureMap: []int{1, 2, 3, 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			for range 40 {
				opts := tc.opts
				trees := make([][]TreeNode, 1+rng.IntN(4))
				for i := range trees {
					trees[i] = shapTree(rng, len(opts.FeatureMap))
				}
				if opts.BaseMargin != 0 {
					opts.TreeWeights = make([]float64, len(trees))
					for i := range opts.TreeWeights {
						opts.TreeWeights[i] = float64(float32(rng.Float64() * 2))
					}
				}
				e := mustTreeEnsemble(t, trees, opts)
				var got Explanation
				for range 25 {
					x := varietyRow(rng)
					if err := e.Explain(&x, &got); err != nil {
						t.Fatal(err)
					}
					base, phi := bruteForceShapley(trees, opts, &x)
					if math.Abs(got.BaseValue-base) > 1e-9 {
						t.Fatalf("row %v: got base value %.17g, want %.17g", x, got.BaseValue, base)
					}
					for j := range phi {
						if math.Abs(got.Contributions[j]-phi[j]) > 1e-9 {
							t.Fatalf("trees %v, row %v: got contribution %.17g of %s, want %.17g",
								trees, x, got.Contributions[j], fraud.FeatureNames()[j], phi[j])
						}
					}
					if m := e.Margin(&x); got.Margin != m {
						t.Fatalf("row %v: got margin %.17g, want Margin's %.17g", x, got.Margin, m)
					}
				}
			}
		})
	}
}

// coveredEnsemble returns benchEnsemble's trees with covers as training gives them (see
// setCovers).
func coveredEnsemble(t testing.TB, rng *rand.Rand, ntrees, depth int) *TreeEnsemble {
	t.Helper()
	e := benchEnsemble(t, rng, ntrees, depth)
	trees := e.Trees()
	for _, tree := range trees {
		setCovers(rng, tree, 0)
	}
	return mustTreeEnsemble(t, trees, e.Options())
}

// sumExplanation returns BaseValue plus the contributions.
func sumExplanation(ex *Explanation) float64 {
	s := ex.BaseValue
	for _, c := range ex.Contributions {
		s += c
	}
	return s
}

// mustModel saves and loads a bundle of the given members, with canaries at rows.
func mustModel(t testing.TB, kind string, bias float64, specs []MemberSpec, files map[string][]byte, rows [][fraud.NumFeatures]float64) *Model {
	t.Helper()
	canaries := make([]Canary, len(rows))
	for i := range rows {
		canaries[i].Features = rows[i]
	}
	return mustLoad(t, mustSave(t, t.TempDir(), Bundle{
		Manifest: Manifest{
			Name: "explain", Kind: kind, Threshold: 0.5, CreatedAt: testCreatedAt,
			Members: specs, Bias: bias, Canaries: canaries,
		},
		Files: files,
	}))
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestExplainAddsUpToTheMargin checks that BaseValue plus the contributions is the margin,
// within 1e-6, for every kind of member alone, for an ensemble blending them with weights and
// a bias, and for the shipped model and each of its members; and that Margin is the margin
// scoring gives, bit for bit.
func TestExplainAddsUpToTheMargin(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	rows := benchRows(t, rng, 200)
	rows = append(rows, exampleRow(t))
	for range 50 {
		x := rows[rng.IntN(len(rows))]
		x[rng.IntN(fraud.NumFeatures)] = math.NaN() // trees send it down; a logistic regression cannot
		rows = append(rows, x)
	}
	trees := coveredEnsemble(t, rng, 60, 5)
	lr := testLogreg(t)
	files := map[string][]byte{TreesFile: mustMarshal(t, trees), "logreg.json": mustMarshal(t, lr)}
	shipped := mustShippedModel(t)
	for _, tc := range []struct {
		name  string
		model func(t *testing.T) *Model
	}{
		{"trees", func(t *testing.T) *Model {
			return mustModel(t, KindTrees, 0, []MemberSpec{{Kind: KindTrees, File: TreesFile, Weight: 1}}, files, rows[:1])
		}},
		{"logreg", func(t *testing.T) *Model {
			return mustModel(t, KindLogreg, 0, []MemberSpec{{Kind: KindLogreg, File: "logreg.json", Weight: 1}}, files, rows[:1])
		}},
		{"weighted ensemble with a bias", func(t *testing.T) *Model {
			return mustModel(t, KindEnsemble, 1.75, []MemberSpec{
				{Kind: KindTrees, File: TreesFile, Weight: 0.4},
				{Kind: KindLogreg, File: "logreg.json", Weight: 0.85},
			}, files, rows[:1])
		}},
		{"shipped " + shipped.Manifest.Kind, func(*testing.T) *Model { return shipped }},
		{"shipped logreg member", func(t *testing.T) *Model { return mustMemberModel(t, shipped, KindLogreg) }},
		{"shipped trees member", func(t *testing.T) *Model { return mustMemberModel(t, shipped, KindTrees) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model(t)
			var ex Explanation
			var worst float64
			for i := range rows {
				x := &rows[i]
				if err := m.Explain(x, &ex); err != nil {
					t.Fatal(err)
				}
				margin := m.Margin(x)
				if ex.Margin != margin && !(math.IsNaN(ex.Margin) && math.IsNaN(margin)) {
					t.Fatalf("row %d: got margin %.17g, want Margin's %.17g", i, ex.Margin, margin)
				}
				if math.IsNaN(margin) {
					continue // a logistic regression of a NaN feature
				}
				d := math.Abs(sumExplanation(&ex) - margin)
				if !(d <= 1e-6) {
					t.Fatalf("row %d: base value %.17g + contributions = %.17g, want the margin %.17g (|Δ| %.3g > 1e-6)",
						i, ex.BaseValue, sumExplanation(&ex), margin, d)
				}
				worst = max(worst, d)
			}
			t.Logf("max |base value + Σ contributions − margin| %.3g over %d rows", worst, len(rows))
		})
	}
}

// TestModelExplainBlendsTheMembers checks the ensemble's explanation against its members':
// the bias plus the weighted member base values, and the weighted member contributions.
func TestModelExplainBlendsTheMembers(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	rows := benchRows(t, rng, 20)
	trees := coveredEnsemble(t, rng, 30, 4)
	lr := testLogreg(t)
	files := map[string][]byte{TreesFile: mustMarshal(t, trees), "logreg.json": mustMarshal(t, lr)}
	m := mustModel(t, KindEnsemble, -0.6, []MemberSpec{
		{Kind: KindTrees, File: TreesFile, Weight: 0.3},
		{Kind: KindLogreg, File: "logreg.json", Weight: 1.2},
	}, files, rows[:1])
	for i := range rows {
		x := &rows[i]
		var got, et, el Explanation
		for _, c := range []struct {
			ex  Explainer
			dst *Explanation
		}{{m, &got}, {trees, &et}, {lr, &el}} {
			if err := c.ex.Explain(x, c.dst); err != nil {
				t.Fatal(err)
			}
		}
		if want := -0.6 + 0.3*et.BaseValue + 1.2*el.BaseValue; math.Abs(got.BaseValue-want) > 1e-12 {
			t.Errorf("row %d: got base value %.17g, want %.17g", i, got.BaseValue, want)
		}
		for j := range got.Contributions {
			if want := 0.3*et.Contributions[j] + 1.2*el.Contributions[j]; math.Abs(got.Contributions[j]-want) > 1e-12 {
				t.Errorf("row %d, %s: got contribution %.17g, want %.17g", i, fraud.FeatureNames()[j], got.Contributions[j], want)
			}
		}
	}
}

// TestLogregExplainIsTheEffectOfEachFeature checks the linear SHAP values against their
// meaning for a linear model with the training mean as background: feature j contributes the
// change in margin from moving x[j] alone to the mean, whatever the other features are; the
// base value is the margin at the mean.
func TestLogregExplainIsTheEffectOfEachFeature(t *testing.T) {
	l := testLogreg(t)
	rng := rand.New(rand.NewPCG(35, 36))
	var ex Explanation
	for _, x := range benchRows(t, rng, 20) {
		if err := l.Explain(&x, &ex); err != nil {
			t.Fatal(err)
		}
		if want := l.Margin(&l.Mean); math.Abs(ex.BaseValue-want) > 1e-9 {
			t.Errorf("got base value %.17g, want the margin at the mean %.17g", ex.BaseValue, want)
		}
		for j := range x {
			at := x
			at[j] = l.Mean[j]
			if want := l.Margin(&x) - l.Margin(&at); math.Abs(ex.Contributions[j]-want) > 1e-9 {
				t.Errorf("%s: got contribution %.17g, want %.17g", fraud.FeatureNames()[j], ex.Contributions[j], want)
			}
		}
	}
}

// TestExplainWithoutCovers checks that trees with a split node of cover 0 still load and
// score, and that explaining them, alone or in an ensemble, fails with ErrNoCovers.
func TestExplainWithoutCovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	x := exampleRow(t)
	noCovers := benchEnsemble(t, rng, 12, 3).Trees()
	for _, tree := range noCovers {
		for i := range tree {
			tree[i].Cover = 0
		}
	}
	rootMissing := benchEnsemble(t, rng, 12, 3).Trees()
	rootMissing[7][0].Cover = 0
	innerMissing := benchEnsemble(t, rng, 12, 3).Trees()
	if innerMissing[4][1].IsLeaf {
		t.Fatal("node 1 of a full tree of depth 3 is a leaf, want a split")
	}
	innerMissing[4][1].Cover = 0
	for _, tc := range []struct {
		name  string
		trees [][]TreeNode
	}{{"no covers", noCovers}, {"a root without cover", rootMissing}, {"an inner split without cover", innerMissing}} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustTreeEnsemble(t, tc.trees, TreeOptions{})
			var ex Explanation
			if err := e.Explain(&x, &ex); !errors.Is(err, ErrNoCovers) {
				t.Errorf("trees: got error %v, want ErrNoCovers", err)
			}
			m := mustModel(t, KindEnsemble, 0.5, []MemberSpec{
				{Kind: KindLogreg, File: "logreg.json", Weight: 1},
				{Kind: KindTrees, File: TreesFile, Weight: 1},
			}, map[string][]byte{TreesFile: mustMarshal(t, e), "logreg.json": mustMarshal(t, testLogreg(t))}, [][fraud.NumFeatures]float64{x})
			if p := m.Probability(&x); !(p > 0 && p < 1) {
				t.Errorf("got probability %v, want the model to score", p)
			}
			if err := m.Explain(&x, &ex); !errors.Is(err, ErrNoCovers) {
				t.Errorf("model: got error %v, want ErrNoCovers", err)
			}
		})
	}
}

func TestShippedModelExplainDoesNotAllocate(t *testing.T) {
	m := mustShippedModel(t)
	x := exampleRow(t)
	var ex Explanation
	if got := testing.AllocsPerRun(50, func() {
		if err := m.Explain(&x, &ex); err != nil {
			t.Fatal(err)
		}
	}); got != 0 {
		t.Errorf("got %v allocations per Explain of the shipped %s model, want 0", got, m.Manifest.Kind)
	}
}

// BenchmarkExplain explains the first real transaction with the shipped model: the exact
// TreeSHAP values of its trees blended with the linear SHAP values of its logistic regression.
func BenchmarkExplain(b *testing.B) {
	m := mustShippedModel(b)
	x := exampleRow(b)
	var ex Explanation
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Explain(&x, &ex); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTopFeatures(t *testing.T) {
	var c [fraud.NumFeatures]float64
	c[3], c[7], c[9], c[20], c[29] = 0.5, -2, 0.5, -0.5, 2
	var idx [fraud.NumFeatures]int
	got := TopFeatures(&c, 6, &idx)
	want := []int{7, 29, 3, 9, 20, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
