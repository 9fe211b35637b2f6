package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// ruleTable returns n rows in time order whose features are standard normal noise (Amount
// positive) and whose label is fraud(x); with flip > 0 each label is flipped with that
// probability.
func ruleTable(t testing.TB, n int, seed uint64, flip float64, fraudRule func(x *[fraud.NumFeatures]float64) bool) *dataset.Table {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	tbl := &dataset.Table{Name: "rule.csv"}
	for i := range n {
		var x [fraud.NumFeatures]float64
		x[0] = float64(i)
		for j := 1; j < fraud.NumFeatures; j++ {
			x[j] = rng.NormFloat64()
		}
		x[fraud.NumFeatures-1] = math.Abs(x[fraud.NumFeatures-1]) * 100
		y := fraudRule(&x)
		if flip > 0 && rng.Float64() < flip {
			y = !y
		}
		for j, v := range x {
			tbl.Columns[j] = append(tbl.Columns[j], v)
		}
		label := uint8(0)
		if y {
			label = 1
		}
		tbl.Labels = append(tbl.Labels, label)
		tbl.Lines = append(tbl.Lines, i+2)
	}
	return tbl
}

// corner is a fraud rule no straight line separates: two opposite corners of the V1-V2 plane.
func corner(x *[fraud.NumFeatures]float64) bool {
	return x[1] > 0.8 && x[2] > 0.8 || x[1] < -0.8 && x[2] < -0.8
}

// smallGBDT returns quick boosting settings for unit tests.
func smallGBDT() GBDTParams {
	p := DefaultGBDTParams()
	p.Rounds = 60
	p.LearningRate = 0.3
	p.MaxDepth = 4
	p.Patience = 20
	p.Bags = 1
	return p
}

// mustTrain trains algo on tbl, failing the test on error.
func mustTrain(t testing.TB, tbl *dataset.Table, algo string, cfg Config) *Result {
	t.Helper()
	if cfg.CreatedAt.IsZero() {
		cfg.CreatedAt = testCreatedAt
	}
	res, err := Train(context.Background(), tbl, algo, cfg)
	if err != nil {
		t.Fatalf("Train %s: %v", algo, err)
	}
	return res
}

// mustSaveDigest saves res's bundle in a fresh directory and returns the bundle's digest.
func mustSaveDigest(t testing.TB, res *Result) string {
	t.Helper()
	dir, err := model.Save(t.TempDir(), res.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	d, err := model.BundleDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(dir) + " " + d
}

func TestGBDTLearnsANonLinearRule(t *testing.T) {
	tbl := ruleTable(t, 3000, 1, 0, corner)
	res := mustTrain(t, tbl, AlgoGBDT, Config{GBDT: smallGBDT()})
	if got := res.Validation.ROCAUC; got < 0.995 {
		t.Errorf("got validation ROC-AUC %.4f on a noiseless rule, want >= 0.995", got)
	}
	if got := res.Validation.AUPRC; got < 0.95 {
		t.Errorf("got validation AUPRC %.4f on a noiseless rule, want >= 0.95", got)
	}
	if res.Bundle.Manifest.Kind != model.KindTrees || res.Member != nil || res.Trees == nil {
		t.Errorf("got kind %q, logreg %v, trees %v, want a trees bundle of trees alone", res.Bundle.Manifest.Kind, res.Member != nil, res.Trees != nil)
	}
	// A logistic regression cannot draw the two corners.
	lr := mustTrain(t, tbl, AlgoLogreg, Config{})
	if !(lr.Validation.AUPRC < res.Validation.AUPRC-0.2) {
		t.Errorf("got logreg AUPRC %.3f, gbdt %.3f, want the trees far ahead", lr.Validation.AUPRC, res.Validation.AUPRC)
	}
}

func TestGBDTIsDeterministic(t *testing.T) {
	tbl := ruleTable(t, 4000, 2, 0.05, corner) // enough rows for parallel histograms
	cfg := Config{GBDT: smallGBDT(), Seed: 7}
	cfg.GBDT.Patience = 0
	cfg.GBDT.Rounds = 15
	cfg.GBDT.Bags = 2
	want := mustSaveDigest(t, mustTrain(t, tbl, AlgoGBDT, cfg))

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		if got := mustSaveDigest(t, mustTrain(t, tbl, AlgoGBDT, cfg)); got != want {
			t.Errorf("GOMAXPROCS %d: got bundle %s, want %s as with the first run", procs, got, want)
		}
	}
	cfg.Seed = 8
	if got := mustSaveDigest(t, mustTrain(t, tbl, AlgoGBDT, cfg)); got == want {
		t.Errorf("got the same bundle %s with another seed, want row and column sampling to change it", got)
	}
}

func TestGBDTEarlyStopping(t *testing.T) {
	// Labels that are coin flips: nothing generalises, so the tuning loss soon stops falling.
	rng := rand.New(rand.NewPCG(5, 6))
	tbl := ruleTable(t, 2000, 3, 0, func(*[fraud.NumFeatures]float64) bool { return rng.IntN(4) == 0 })
	cfg := Config{GBDT: smallGBDT()}
	cfg.GBDT.Rounds = 500
	cfg.GBDT.Patience = 10
	for _, metric := range []StopMetric{StopLogLoss, StopAUPRC} {
		cfg.GBDT.StopMetric = metric
		res := mustTrain(t, tbl, AlgoGBDT, cfg)
		b := res.Boosting
		if !b.StoppedEarly || b.Rounds >= cfg.GBDT.Rounds {
			t.Fatalf("%s: got %d rounds grown of %d (stopped early %v), want an early stop", metric, b.Rounds, cfg.GBDT.Rounds, b.StoppedEarly)
		}
		if b.Trees != b.Rounds-cfg.GBDT.Patience {
			t.Errorf("%s: got %d trees kept of %d grown, want the %d up to the best round",
				metric, b.Trees, b.Rounds, b.Rounds-cfg.GBDT.Patience)
		}
		// The refit on every row grows the kept count scaled by the rows it has.
		if want := refitRounds(b.Trees, len(res.Split.Train), tbl.Rows()); res.Trees.NumTrees() != want || res.Refit.Trees != want {
			t.Errorf("%s: got %d trees shipped (%d in the refit record), want %d: %d kept times %d/%d rows",
				metric, res.Trees.NumTrees(), res.Refit.Trees, want, b.Trees, tbl.Rows(), len(res.Split.Train))
		}
		if math.IsNaN(b.BestScore) {
			t.Errorf("%s: got no best score, want the tuning figure", metric)
		}
	}

	cfg.GBDT.Patience = 0
	cfg.GBDT.Rounds = 30
	if res := mustTrain(t, tbl, AlgoGBDT, cfg); res.Boosting.Trees != 30 || res.Boosting.StoppedEarly {
		t.Errorf("got %d trees (stopped early %v) without patience, want all 30", res.Boosting.Trees, res.Boosting.StoppedEarly)
	}
}

func TestGBDTGrowthPolicies(t *testing.T) {
	tbl := ruleTable(t, 3000, 4, 0, corner)
	tests := []struct {
		name      string
		growth    Growth
		depth     int
		leaves    int
		wantDepth int // most levels allowed
		wantLeafs int // most leaves allowed
	}{
		{"depth-wise", GrowDepthWise, 3, 0, 3, 8},
		{"depth-wise with a leaf bound", GrowDepthWise, 6, 5, 6, 5},
		{"leaf-wise", GrowLeafWise, 0, 6, 5, 6},
		{"leaf-wise with a depth bound", GrowLeafWise, 2, 16, 2, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{GBDT: smallGBDT()}
			cfg.GBDT.Growth, cfg.GBDT.MaxDepth, cfg.GBDT.MaxLeaves = tc.growth, tc.depth, tc.leaves
			res := mustTrain(t, tbl, AlgoGBDT, cfg)
			if got := res.Trees.MaxDepth(); got > tc.wantDepth {
				t.Errorf("got depth %d, want at most %d", got, tc.wantDepth)
			}
			most := 0
			for _, tree := range res.Trees.Trees() {
				leaves := 0
				for _, nd := range tree {
					if nd.IsLeaf {
						leaves++
					}
				}
				most = max(most, leaves)
			}
			if most > tc.wantLeafs || most < 2 {
				t.Errorf("got trees of up to %d leaves, want 2 to %d", most, tc.wantLeafs)
			}
			if res.Validation.ROCAUC < 0.97 {
				t.Errorf("got validation ROC-AUC %.4f, want >= 0.97", res.Validation.ROCAUC)
			}
		})
	}
}

func TestGBDTLearnsWhereMissingValuesGo(t *testing.T) {
	// V3 is missing for most frauds and few normal rows; nothing else tells them apart.
	rng := rand.New(rand.NewPCG(9, 10))
	tbl := ruleTable(t, 3000, 5, 0, func(*[fraud.NumFeatures]float64) bool { return rng.IntN(6) == 0 })
	for i, y := range tbl.Labels {
		if (y == 1 && rng.IntN(10) < 9) || (y == 0 && rng.IntN(50) == 0) {
			tbl.Columns[3][i] = math.NaN()
		}
	}
	res := mustTrain(t, tbl, AlgoGBDT, Config{GBDT: smallGBDT()})
	if got := res.Validation.ROCAUC; got < 0.9 {
		t.Errorf("got validation ROC-AUC %.4f, want >= 0.9 from the missing values alone", got)
	}
	var x [fraud.NumFeatures]float64
	x[fraud.NumFeatures-1] = 50
	present := res.Trees.Margin(&x)
	x[3] = math.NaN()
	if missing := res.Trees.Margin(&x); !(missing > present+2) {
		t.Errorf("got margin %.3f with V3 missing and %.3f with V3 = 0, want missing far higher", missing, present)
	}
}

// The trees route raw values, NaN included, exactly as training routed their bins.
func TestGrownTreesScoreRawValuesAsTrainingBinnedThem(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 2000
	cols := make([][]float64, fraud.NumFeatures)
	rows := make([]int, n)
	weights := make([]float64, n)
	grad := make([]float64, n)
	hess := make([]float64, n)
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	for i := range n {
		rows[i] = i
		weights[i] = 1 + float64(i%3)
		for j := range cols {
			switch {
			case j == 1 && i%7 == 0:
				cols[j][i] = math.NaN()
			case j == 2:
				// Neighbouring floats: their midpoint rounds to one of them.
				cols[j][i] = math.Nextafter(1, float64(i%2)*2)
			case j == 4:
				cols[j][i] = float64(rng.IntN(5)) // few distinct values
			default:
				cols[j][i] = rng.NormFloat64()
			}
		}
		grad[i] = rng.NormFloat64() + cols[4][i] - 2
		if math.IsNaN(cols[1][i]) {
			grad[i] += 3
		}
		hess[i] = 0.1 + rng.Float64()
	}
	b := newBinning(cols, rows, weights, MaxBins, 2)
	binned := b.binColumns(cols, rows, 2)
	hasMissing := make([]bool, len(cols))
	for j := range cols {
		hasMissing[j] = slices.Contains(binned[j], b.missingBin(j))
	}
	p := DefaultGBDTParams()
	p.MaxDepth = 8
	p.MinChildWeight = 0
	g := newGrower(b, binned, hasMissing, p, 2, n)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	all := make([]int, len(cols))
	for j := range all {
		all[j] = j
	}
	tree := g.grow(order, all, grad, hess)
	if len(tree.nodes) < 31 {
		t.Fatalf("got %d nodes, want a bushy tree to test", len(tree.nodes))
	}
	used := map[int]bool{}
	for _, nd := range tree.nodes {
		if !nd.IsLeaf {
			used[nd.Feature] = true
		}
	}
	if !used[1] || !used[4] {
		t.Errorf("got splits on features %v, want V1 (missing values) and V4 (few values) among them", used)
	}
	ens, err := model.NewTreeEnsemble([][]model.TreeNode{tree.nodes}, model.TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var x [fraud.NumFeatures]float64
	for i := range n {
		for j := range x {
			x[j] = cols[j][i]
		}
		if got, want := ens.Margin(&x), tree.value(binned, i); got != want {
			t.Fatalf("row %d: got margin %v from the saved tree, want %v as training routed it", i, got, want)
		}
	}
}

func TestBinning(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		values   []float64
		weights  []float64 // nil: all 1
		maxBins  int
		wantCuts []float64 // nil: check wantBins only
		wantBins int       // value bins, when wantCuts is nil
	}{
		{"constant", []float64{3, 3, 3, 3}, nil, 256, []float64{}, 0},
		{"all missing", []float64{nan, nan}, nil, 256, []float64{}, 0},
		{"few values, cut at midpoints", []float64{2, 1, 2, 4, nan, 1}, nil, 256, []float64{1.5, 3}, 0},
		{"as many values as bins", []float64{1, 2, 3, 4}, nil, 5, []float64{1.5, 2.5, 3.5}, 0},
		{"neighbouring floats", []float64{1, math.Nextafter(1, 2)}, nil, 256, []float64{math.Nextafter(1, 2)}, 0},
		{"more values than bins", seq(1000), nil, 11, nil, 10},
		// Weighted quantiles: half the weight sits on the first 10 of 100 values, so half the
		// bins go there.
		{"weighted quantiles", seq(100), weighted(100, 10, 9), 5, []float64{4.5, 9.5, 54.5}, 0},
		// A value holding most of the weight reaches several quantiles at once: it is never
		// split, and the bins it does not need go to the values after it.
		{"heavy value", []float64{0, 1, 2, 3, 4, 5, 6, 7}, []float64{1, 1, 20, 1, 1, 1, 1, 1}, 5, []float64{2.5, 3.5, 4.5}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := make([]int, len(tc.values))
			w := tc.weights
			if w == nil {
				w = make([]float64, len(tc.values))
				for i := range w {
					w[i] = 1
				}
			}
			for i := range rows {
				rows[i] = i
			}
			b := newBinning([][]float64{tc.values}, rows, w, tc.maxBins, 1)
			cuts := b.cuts[0]
			if tc.wantCuts != nil {
				if !slices.Equal(cuts, tc.wantCuts) && !(len(cuts) == 0 && len(tc.wantCuts) == 0) {
					t.Errorf("got cuts %v, want %v", cuts, tc.wantCuts)
				}
			} else if got := b.numBins(0); got != tc.wantBins {
				t.Errorf("got %d value bins, want %d", got, tc.wantBins)
			}
			if got := b.numBins(0) + 1; got > tc.maxBins {
				t.Errorf("got %d bins with the missing one, want at most %d", got, tc.maxBins)
			}
			if !slices.IsSorted(cuts) {
				t.Errorf("got cuts %v, want them increasing", cuts)
			}
			// Every value's bin is the number of cuts at or below it; NaN has its own bin.
			for i, v := range tc.values {
				got := b.bin(0, v)
				want := uint8(0)
				if math.IsNaN(v) {
					want = b.missingBin(0)
				} else {
					for _, c := range cuts {
						if v >= c {
							want++
						}
					}
				}
				if got != want {
					t.Errorf("value %d (%v): got bin %d, want %d", i, v, got, want)
				}
			}
		})
	}
}

// seq returns 0, 1, ..., n-1.
func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i)
	}
	return out
}

// weighted returns n weights of 1 except the first k, which weigh w.
func weighted(n, k int, w float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
		if i < k {
			out[i] = w
		}
	}
	return out
}

func TestGBDTParamsCheck(t *testing.T) {
	tests := []struct {
		name   string
		change func(*GBDTParams)
		want   string
	}{
		{"no rounds", func(p *GBDTParams) { p.Rounds = 0 }, "rounds 0 must be >= 1"},
		{"zero learning rate", func(p *GBDTParams) { p.LearningRate = 0 }, "learning rate 0 must be"},
		{"unknown growth", func(p *GBDTParams) { p.Growth = "sideways" }, `growth "sideways" is not one of`},
		{"depth-wise without depth", func(p *GBDTParams) { p.MaxDepth = 0 }, "depth-wise growth needs a max depth"},
		{"leaf-wise without leaves", func(p *GBDTParams) { p.Growth = GrowLeafWise }, "leaf-wise growth needs max leaves"},
		{"one leaf", func(p *GBDTParams) { p.MaxLeaves = 1 }, "max leaves 1 must be 0 or >= 2"},
		{"negative lambda", func(p *GBDTParams) { p.Lambda = -1 }, "lambda -1 must be"},
		{"NaN min child weight", func(p *GBDTParams) { p.MinChildWeight = math.NaN() }, "min child weight NaN must be"},
		{"subsample above 1", func(p *GBDTParams) { p.Subsample = 1.5 }, "subsample 1.5 must be in (0, 1]"},
		{"no columns", func(p *GBDTParams) { p.ColSample = 0 }, "column sample 0 must be in (0, 1]"},
		{"negative positive weight", func(p *GBDTParams) { p.ScalePosWeight = -2 }, "positive weight -2 must be"},
		{"too many bins", func(p *GBDTParams) { p.MaxBins = 257 }, "max bins 257 must be between 3 and 256"},
		{"too few bins", func(p *GBDTParams) { p.MaxBins = 2 }, "max bins 2 must be between 3 and 256"},
		{"negative patience", func(p *GBDTParams) { p.Patience = -1 }, "patience -1 must be >= 0"},
		{"unknown stop metric", func(p *GBDTParams) { p.StopMetric = "auc" }, `stop metric "auc" is not one of`},
	}
	tbl := ruleTable(t, 200, 6, 0, corner)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultGBDTParams()
			tc.change(&p)
			_, err := GBDT(context.Background(), tbl, Config{GBDT: p, CreatedAt: testCreatedAt})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := DefaultGBDTParams().Check(); err != nil {
		t.Errorf("got %v for the defaults, want them valid", err)
	}
}

func TestGBDTCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := GBDT(ctx, ruleTable(t, 500, 7, 0, corner), Config{CreatedAt: testCreatedAt})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// Bags average boosted ensembles grown on different samples: the trees of every bag are
// kept, and the model varies less from one seed to the next.
func TestGBDTBags(t *testing.T) {
	tbl := mixedTable(t, 3000, 41)
	margins := func(bags int) [][]float64 {
		var out [][]float64
		for seed := range int64(4) {
			cfg := Config{GBDT: smallGBDT(), Seed: seed + 1, NoRefit: true}
			cfg.GBDT.Patience = 0
			cfg.GBDT.Rounds = 30
			cfg.GBDT.Bags = bags
			res := mustTrain(t, tbl, AlgoGBDT, cfg)
			if got, want := res.Trees.NumTrees(), 30*bags; got != want || res.Boosting.Bags != bags {
				t.Fatalf("bags %d: got %d trees in %d bags, want %d", bags, got, res.Boosting.Bags, want)
			}
			out = append(out, memberMargins(tbl, futureRows(tbl)[:200], res.Trees))
		}
		return out
	}
	spread := func(m [][]float64) float64 {
		var sum float64
		for r := range m[0] {
			var mean, ss float64
			for _, s := range m {
				mean += s[r] / float64(len(m))
			}
			for _, s := range m {
				ss += (s[r] - mean) * (s[r] - mean)
			}
			sum += math.Sqrt(ss / float64(len(m)-1))
		}
		return sum / float64(len(m[0]))
	}
	one, four := spread(margins(1)), spread(margins(4))
	t.Logf("mean standard deviation of a row's margin over 4 seeds: %.4f with 1 bag, %.4f with 4", one, four)
	if !(four < 0.75*one) {
		t.Errorf("got a spread over seeds of %.4f with 4 bags and %.4f with 1, want 4 bags well below", four, one)
	}
}

// TestGrownSplitGain grows a one-split tree on six rows whose gain is worked out by hand: the
// gradients are −½ on the three rows of V3 ≤ 3 and +½ on the others, every hessian ¼, λ = 1.
// The best split puts the first three rows left: G_L = −1.5, H_L = 0.75, G_R = 1.5, H_R = 0.75,
// G = 0, so the gain is ½·(2.25/1.75 + 2.25/1.75 − 0/2.5) = 9/7. MinSplitGain is a floor, not
// subtracted from it.
func TestGrownSplitGain(t *testing.T) {
	const n = 6
	cols := make([][]float64, fraud.NumFeatures) // every other feature constant: no split on it
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	rows := make([]int, n)
	weights := make([]float64, n)
	grad := []float64{-0.5, -0.5, -0.5, 0.5, 0.5, 0.5}
	hess := make([]float64, n)
	for i := range n {
		rows[i], weights[i], hess[i] = i, 1, 0.25
		cols[3][i] = float64(i + 1)
	}
	b := newBinning(cols, rows, weights, MaxBins, 1)
	binned := b.binColumns(cols, rows, 1)
	p := DefaultGBDTParams()
	p.MaxDepth = 1
	p.Lambda = 1
	p.MinChildWeight = 0
	p.MinSplitGain = 0.5
	g := newGrower(b, binned, make([]bool, len(cols)), p, 1, n)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	all := make([]int, len(cols))
	for j := range all {
		all[j] = j
	}
	tree := g.grow(order, all, grad, hess)
	if len(tree.nodes) != 3 || tree.nodes[0].IsLeaf || tree.nodes[0].Feature != 3 {
		t.Fatalf("got nodes %+v, want one split on V3 and two leaves", tree.nodes)
	}
	if got, want := tree.nodes[0].Gain, 9.0/7; math.Abs(got-want) > 1e-15 {
		t.Errorf("got split gain %.17g, want 9/7 = %.17g", got, want)
	}
	for _, i := range []int32{tree.nodes[0].Left, tree.nodes[0].Right} {
		if nd := tree.nodes[i]; !nd.IsLeaf || nd.Gain != 0 {
			t.Errorf("node %d: got %+v, want a leaf of gain 0", i, nd)
		}
	}
	ens, err := model.NewTreeEnsemble([][]model.TreeNode{tree.nodes}, model.TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gain, ok := ens.SplitGain()
	if !ok || gain[3] != tree.nodes[0].Gain {
		t.Errorf("got split gain %v (%v) by feature, want %v on V3", gain, ok, tree.nodes[0].Gain)
	}
}

// TestTrainedReference checks the reference sample a trained bundle carries: 500 of the rows
// the shipped members were fitted on (every row after the refit, the training split without
// it), each weighing as in the metrics (NormalWeight for a normal row), and the trees' split
// gains recorded, so that the saved bundle is of format 2 with mean |SHAP| in its manifest.
func TestTrainedReference(t *testing.T) {
	tbl := ruleTable(t, 1500, 3, 0.02, corner)
	row := map[[fraud.NumFeatures]float64]int{}
	for i := range tbl.Rows() {
		var x [fraud.NumFeatures]float64
		for j := range x {
			x[j] = tbl.Columns[j][i]
		}
		row[x] = i
	}
	for _, refit := range []bool{true, false} {
		cfg := Config{GBDT: smallGBDT(), NormalWeight: 7, Seed: 5, NoRefit: !refit}
		res := mustTrain(t, tbl, AlgoEnsemble, cfg)
		ref := res.Bundle.Reference
		if ref == nil || len(ref.Rows) != model.MaxReferenceRows {
			t.Fatalf("refit %v: got reference %v, want %d rows", refit, ref, model.MaxReferenceRows)
		}
		cut := math.Inf(1)
		if !refit {
			cut = res.Split.Cut
		}
		for k, x := range ref.Rows {
			i, ok := row[x]
			if !ok {
				t.Fatalf("refit %v: reference row %d is not a row of the table", refit, k)
			}
			if !(tbl.Columns[0][i] < cut) {
				t.Errorf("refit %v: reference row %d has Time %v, past the rows the members were fitted on (< %v)", refit, k, tbl.Columns[0][i], cut)
			}
			if want := map[uint8]float64{0: 7, 1: 1}[tbl.Labels[i]]; ref.Weights[k] != want {
				t.Errorf("refit %v: reference row %d of class %d weighs %v, want %v", refit, k, tbl.Labels[i], ref.Weights[k], want)
			}
		}
		dir, err := model.Save(t.TempDir(), res.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		m, err := model.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		imp := m.Importance()
		if m.Manifest.FormatVersion != 3 || imp.ReferenceRows != model.MaxReferenceRows || imp.SplitGain == nil || m.Drift() == nil {
			t.Fatalf("refit %v: got format %d, importance %+v, drift %v, want format 3 with mean |SHAP|, split gains and the training distribution", refit, m.Manifest.FormatVersion, imp, m.Drift() != nil)
		}
		// The rule reads V1 and V2: they lead both measures.
		for name, v := range map[string][]float64{"mean |SHAP|": imp.MeanAbsSHAP, "split gain": imp.SplitGain} {
			for j := range fraud.NumFeatures {
				if j != 1 && j != 2 && !(v[j] < min(v[1], v[2])) {
					t.Errorf("refit %v: %s of %s is %v, want it below V1's %v and V2's %v", refit, name, fraud.FeatureNames()[j], v[j], v[1], v[2])
				}
			}
		}
	}
}
