package train

import (
	"github.com/fraudguard/fraudguard/internal/model"
)

// histBin holds the gradient and hessian sums of the rows in one bin.
type histBin struct{ g, h float64 }

// A histogram is laid out feature by feature with a fixed stride of MaxBins bins, so that a bin
// index (a byte) addresses a feature's part without a bounds check.
const histStride = MaxBins

// parallelHistWork is the least rows × features for which building a histogram is worth
// spreading over goroutines.
const parallelHistWork = 1 << 15

// grownTree is a tree as boosting grew it: the nodes to save, and each split's bin, to route
// binned rows exactly as the saved thresholds route raw ones.
type grownTree struct {
	nodes []model.TreeNode
	// bin[i] is the last bin of node i's feature that goes left (when not missing); miss[i]
	// is that feature's missing bin.
	bin, miss []uint8
}

// value returns the leaf value that row r of the binned columns reaches.
func (t *grownTree) value(cols [][]uint8, r int) float64 {
	i := 0
	for {
		nd := &t.nodes[i]
		if nd.IsLeaf {
			return nd.Value
		}
		b := cols[nd.Feature][r]
		left := b <= t.bin[i]
		if b == t.miss[i] {
			left = nd.DefaultLeft
		}
		if left {
			i = int(nd.Left)
		} else {
			i = int(nd.Right)
		}
	}
}

// splitInfo is the best split found for a leaf.
type splitInfo struct {
	gain     float64
	feature  int
	bin      int // bins 0..bin go left
	missLeft bool
	gl, hl   float64 // the left child's sums
}

// leaf is a leaf of the tree being grown.
type leaf struct {
	id     int32 // its index in the tree's nodes
	lo, hi int   // its rows are order[lo:hi]
	g, h   float64
	depth  int
	hist   []histBin // nil unless it may be split
	best   splitInfo
	ok     bool // best is a valid split
}

// grower grows one tree at a time on binned training rows. It keeps its buffers from tree to
// tree; it is not safe for concurrent use.
type grower struct {
	bins       *binning
	cols       [][]uint8 // bins of the training rows, by feature
	hasMissing []bool    // whether a feature has missing values in the training rows
	p          GBDTParams
	workers    int

	grad, hess []float64 // of the tree being grown, by training row
	free       [][]histBin
	scratch    []int32
	gh         []histBin
}

func newGrower(bins *binning, cols [][]uint8, hasMissing []bool, p GBDTParams, workers, rows int) *grower {
	return &grower{
		bins:       bins,
		cols:       cols,
		hasMissing: hasMissing,
		p:          p,
		workers:    workers,
		scratch:    make([]int32, rows),
		gh:         make([]histBin, rows),
	}
}

// grow grows a tree on the rows in order (training row indices, increasing; order is
// reordered) using only features, with the given gradients and hessians.
func (g *grower) grow(order []int32, features []int, grad, hess []float64) *grownTree {
	g.grad, g.hess = grad, hess
	t := &grownTree{}
	root := &leaf{lo: 0, hi: len(order)}
	for _, r := range order {
		root.g += grad[r]
		root.h += hess[r]
	}
	t.add()
	if g.splittable(root) {
		root.hist = g.build(order, features)
		g.findSplit(root, features)
	}
	open := []*leaf{root}
	for leaves := 1; g.p.MaxLeaves == 0 || leaves < g.p.MaxLeaves; leaves++ {
		k := g.pick(open)
		if k < 0 {
			break
		}
		nd := open[k]
		open = append(open[:k], open[k+1:]...)
		mid := g.partition(order, nd)
		left := &leaf{id: int32(len(t.nodes)), lo: nd.lo, hi: mid, g: nd.best.gl, h: nd.best.hl, depth: nd.depth + 1}
		right := &leaf{id: left.id + 1, lo: mid, hi: nd.hi, g: nd.g - nd.best.gl, h: nd.h - nd.best.hl, depth: nd.depth + 1}
		t.split(nd, left, right, g.bins, g.value(nd))
		needL, needR := g.splittable(left), g.splittable(right)
		if needL || needR {
			// Build the smaller child's histogram; the larger one's is the parent's minus it.
			small, large := left, right
			if right.hi-right.lo < left.hi-left.lo {
				small, large = right, left
			}
			small.hist = g.build(order[small.lo:small.hi], features)
			large.hist = nd.hist
			g.subtract(large.hist, small.hist, features)
			for _, c := range []*leaf{left, right} {
				if g.splittable(c) {
					g.findSplit(c, features)
				} else {
					g.release(c)
				}
			}
		} else {
			g.free = append(g.free, nd.hist)
		}
		nd.hist = nil
		open = append(open, left, right)
	}
	for _, nd := range open {
		g.release(nd)
		t.nodes[nd.id] = model.TreeNode{IsLeaf: true, Value: g.value(nd), Cover: nd.h}
	}
	return t
}

// value returns a leaf's output: −η·G/(H+λ).
func (g *grower) value(nd *leaf) float64 {
	d := nd.h + g.p.Lambda
	if !(d > 0) {
		return 0
	}
	return -g.p.LearningRate * nd.g / d
}

// add appends a placeholder node.
func (t *grownTree) add() {
	t.nodes = append(t.nodes, model.TreeNode{IsLeaf: true})
	t.bin = append(t.bin, 0)
	t.miss = append(t.miss, 0)
}

// split turns nd's node into its split and appends its children's placeholders.
func (t *grownTree) split(nd, left, right *leaf, bins *binning, value float64) {
	f := nd.best.feature
	t.nodes[nd.id] = model.TreeNode{
		Feature:     f,
		Threshold:   bins.cuts[f][nd.best.bin],
		Left:        left.id,
		Right:       right.id,
		DefaultLeft: nd.best.missLeft,
		Missing:     model.MissingNaN,
		Value:       value,
		Cover:       nd.h,
		// The loss reduction the split was chosen for (findSplit); MinSplitGain is a floor,
		// not subtracted.
		Gain: nd.best.gain,
	}
	t.bin[nd.id] = uint8(nd.best.bin)
	t.miss[nd.id] = bins.missingBin(f)
	t.add()
	t.add()
}

// splittable reports whether a leaf may be split, before looking for a split.
func (g *grower) splittable(nd *leaf) bool {
	return (g.p.MaxDepth == 0 || nd.depth < g.p.MaxDepth) && nd.hi-nd.lo >= 2 && nd.h >= 2*g.p.MinChildWeight
}

// pick returns the index in open of the next leaf to split, or -1: depth-wise, the first (open
// is in creation order, so level by level); leaf-wise, the one of largest gain, the first among
// equals.
func (g *grower) pick(open []*leaf) int {
	k := -1
	for i, nd := range open {
		if !nd.ok {
			continue
		}
		if g.p.Growth == GrowDepthWise {
			return i
		}
		if k < 0 || nd.best.gain > open[k].best.gain {
			k = i
		}
	}
	return k
}

// alloc returns a zeroed histogram.
func (g *grower) alloc() []histBin {
	if n := len(g.free); n > 0 {
		h := g.free[n-1]
		g.free = g.free[:n-1]
		clear(h)
		return h
	}
	return make([]histBin, len(g.cols)*histStride)
}

func (g *grower) release(nd *leaf) {
	if nd.hist != nil {
		g.free = append(g.free, nd.hist)
		nd.hist = nil
	}
}

// build returns the histogram of rows over features. Each feature is summed in row order by
// one goroutine, so the sums do not depend on the number of workers.
func (g *grower) build(rows []int32, features []int) []histBin {
	hist := g.alloc()
	gh := g.gh[:len(rows)]
	for k, r := range rows {
		gh[k] = histBin{g.grad[r], g.hess[r]}
	}
	one := func(i int) {
		f := features[i]
		hs := (*[histStride]histBin)(hist[f*histStride : (f+1)*histStride])
		col := g.cols[f]
		for k, r := range rows {
			b := &hs[col[r]]
			b.g += gh[k].g
			b.h += gh[k].h
		}
	}
	workers := g.workers
	if len(rows)*len(features) < parallelHistWork {
		workers = 1
	}
	parallelFor(workers, len(features), one)
	return hist
}

// subtract sets large to large − small over features.
func (g *grower) subtract(large, small []histBin, features []int) {
	for _, f := range features {
		n := g.bins.numBins(f) + 1
		l := large[f*histStride : f*histStride+n]
		s := small[f*histStride : f*histStride+n]
		for b := range l {
			l[b].g -= s[b].g
			l[b].h -= s[b].h
		}
	}
}

// findSplit sets nd.best to the split of largest gain over features, if any gains more than
// MinSplitGain with both children's hessian sums at least MinChildWeight. Ties go to the first
// feature in features, then to the lowest bin.
func (g *grower) findSplit(nd *leaf, features []int) {
	lambda := g.p.Lambda
	// A child lighter than this is empty but for rounding in a subtracted histogram.
	minHess := max(g.p.MinChildWeight, 1e-9*nd.h)
	parent := nd.g * nd.g / (nd.h + lambda)
	best := splitInfo{gain: g.p.MinSplitGain}
	found := false
	consider := func(f, b int, gl, hl float64, missLeft bool) {
		gr, hr := nd.g-gl, nd.h-hl
		if !(hl >= minHess && hr >= minHess) {
			return
		}
		gain := 0.5 * (gl*gl/(hl+lambda) + gr*gr/(hr+lambda) - parent)
		if gain > best.gain {
			best = splitInfo{gain: gain, feature: f, bin: b, missLeft: missLeft, gl: gl, hl: hl}
			found = true
		}
	}
	for _, f := range features {
		nb := g.bins.numBins(f)
		if nb < 2 {
			continue
		}
		hs := nd.hist[f*histStride : f*histStride+nb+1]
		gm, hm := hs[nb].g, hs[nb].h
		var gl, hl float64
		for b := 0; b < nb-1; b++ {
			gl += hs[b].g
			hl += hs[b].h
			if g.hasMissing[f] {
				consider(f, b, gl, hl, false)
				consider(f, b, gl+gm, hl+hm, true)
			} else {
				// No missing value in training: they go where most of the node's data went.
				consider(f, b, gl, hl, hl >= nd.h-hl)
			}
		}
	}
	nd.best, nd.ok = best, found
}

// partition reorders order[nd.lo:nd.hi] so the rows going left under nd.best come first, each
// side keeping its order, and returns where the right side starts.
func (g *grower) partition(order []int32, nd *leaf) int {
	f := nd.best.feature
	bin := uint8(nd.best.bin)
	miss := g.bins.missingBin(f)
	missLeft := nd.best.missLeft
	col := g.cols[f]
	w, nr := nd.lo, 0
	for k := nd.lo; k < nd.hi; k++ {
		r := order[k]
		b := col[r]
		left := b <= bin
		if b == miss {
			left = missLeft
		}
		if left {
			order[w] = r
			w++
		} else {
			g.scratch[nr] = r
			nr++
		}
	}
	copy(order[w:nd.hi], g.scratch[:nr])
	return w
}
