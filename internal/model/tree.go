package model

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// KindTrees is the member kind of a tree ensemble (see TreeEnsemble).
const KindTrees = "trees"

// TreesFile is the usual name of a tree member's file in a bundle.
const TreesFile = "trees.json"

// ZeroThreshold is the half-width of the band around zero that MissingZero treats as missing:
// LightGBM's kZeroThreshold, the float32 1e-35 widened to float64 as LightGBM declares it.
const ZeroThreshold = float64(float32(1e-35))

// MissingRule says which values of a numerical split's feature count as missing, and so follow
// the node's default direction (TreeNode.DefaultLeft) instead of the comparison.
type MissingRule uint8

// The missing-value rules. The zero value, MissingNaN, is XGBoost's and the trainer's.
const (
	// MissingNaN treats NaN as missing (XGBoost; LightGBM's missing_type NaN).
	MissingNaN MissingRule = iota
	// MissingZero treats NaN and every value within ±ZeroThreshold as missing (LightGBM's
	// missing_type Zero).
	MissingZero
	// MissingNone has no missing value: NaN is read as 0 and compared with the threshold
	// (LightGBM's missing_type None).
	MissingNone
)

// String returns the rule's name: "nan", "zero" or "none".
func (r MissingRule) String() string {
	switch r {
	case MissingNaN:
		return "nan"
	case MissingZero:
		return "zero"
	case MissingNone:
		return "none"
	}
	return fmt.Sprintf("MissingRule(%d)", uint8(r))
}

// TreeNode is one node of a decision tree, as NewTreeEnsemble takes it and Trees returns it.
// A tree is a slice of nodes whose root is node 0; children are indices into the same slice.
type TreeNode struct {
	// Feature is the split's feature, an index into the model's own feature order, which
	// TreeOptions.FeatureMap maps onto the transaction's features. Leaves ignore it.
	Feature int
	// Threshold of a numerical split: x goes left when x < Threshold (x <= Threshold under
	// TreeOptions.LessOrEqual), compared in float32 under TreeOptions.Float32. Leaves and
	// categorical splits ignore it.
	Threshold float64
	// Left and Right are the children's indices in the tree's slice. Leaves ignore them.
	Left, Right int32
	// DefaultLeft sends the values Missing calls missing to the left child, else to the right.
	DefaultLeft bool
	// Missing says which values are missing in a numerical split.
	Missing MissingRule
	// Categories, when not nil, makes the split categorical: x goes left when it is a category
	// in this bitset, that is when c = int(x) (x truncated towards zero) is at least 0 and bit
	// c%32 of Categories[c/32] is set (LightGBM's cat_threshold layout). NaN, negative
	// categories and categories beyond the bitset go right.
	Categories []uint32
	// IsLeaf marks a leaf.
	IsLeaf bool
	// Value is a leaf's output, before the tree's weight. Internal nodes may carry the value the
	// node would have as a leaf; scoring ignores it.
	Value float64
	// Cover is how much training data reached the node: the hessian sum (XGBoost's
	// sum_hessian, the trainer's) or the row count (LightGBM's); 0 when unknown. Scoring does
	// not read it; Explain weighs the paths a row does not take by it (path-dependent
	// TreeSHAP), and cannot explain a tree with a split node of cover 0.
	Cover float64
	// Gain is a split's gain: how much the split lowered the training loss, in the units of
	// the library that grew the tree (the trainer's ½·[G_L²/(H_L+λ) + G_R²/(H_R+λ) −
	// G²/(H+λ)], XGBoost's loss_changes, LightGBM's split_gain); 0 when unknown. Leaves
	// ignore it, and so does scoring; SplitGain sums it by feature.
	Gain float64
}

// TreeOptions are the settings of a tree ensemble that are not in its nodes.
type TreeOptions struct {
	// BaseMargin is added to the sum of the trees' outputs (log-odds).
	BaseMargin float64
	// TreeWeights multiply each tree's output (DART's weight_drop, a sigmoid scale, an average);
	// nil means every weight is 1. NewTreeEnsemble folds them into the leaf values.
	TreeWeights []float64
	// Float32 compares float32(x) with float32(Threshold), as XGBoost does; otherwise the
	// comparison is in float64.
	Float32 bool
	// LessOrEqual sends x left when x <= Threshold (LightGBM) rather than x < Threshold.
	LessOrEqual bool
	// Float32Sum adds the base margin and the trees' outputs in float32, one tree after the
	// other, as XGBoost does: the margin then equals XGBoost's bit for bit. The base margin,
	// the leaf values and the tree weights are rounded to float32, and so is each product of a
	// leaf value and its tree's weight.
	Float32Sum bool
	// FeatureMap maps the model's feature j to the transaction feature FeatureMap[j] (an index
	// into fraud.FeatureNames); nil means the model's features are the transaction's.
	FeatureMap []int
	// FeatureNames are the model's own feature names, in its order (optional).
	FeatureNames []string
	// Source says where the ensemble came from ("xgboost 1.7.4 gbtree", say); informative.
	Source string
}

// TreeEnsemble is a member made of decision trees whose outputs add up to its margin:
//
//	BaseMargin + Σ_t TreeWeights[t] · leaf value of tree t for x
//
// How it scores. Every tree is flattened, depth first, into one array of 16-byte nodes, and
// every node takes the same step: go to the next node when row[slot] < key, else to the node
// named in the node. The row holds 64 slots, each an order key (orderKey: unsigned integers
// that sort as the float64 values do): the 30 features, their negations, and a key above every
// other for NaN. Float32, LessOrEqual, the missing rules and the tree weights are resolved when
// the ensemble is built: key is computed so that the comparison sends every float64 x where the
// original rule does; a split that sends NaN left compares -x with a key on the negated side
// and swaps its children, so that NaN, which fails every comparison, lands where it should; a
// leaf reads the NaN slot and names itself, so that a walk may take more steps than its path is
// long. Trees are walked eight at a time, in step, until all eight walks have reached a leaf,
// choosing each child by arithmetic rather than by a branch: the eight walks overlap in the
// processor instead of waiting on each other's loads and on mispredicted branches.
// Categorical splits and MissingZero do not fit one comparison; an ensemble that has them is
// walked tree by tree through a general step.
//
// A TreeEnsemble is immutable and safe for concurrent use; Margin does not allocate.
type TreeEnsemble struct {
	trees [][]TreeNode // as built, for Trees and the member file
	opts  TreeOptions

	nodes   []node
	leafIDs []int32 // each node's index in its TreeNode slice, for LeafIndices
	roots   []int32
	depths  []int32 // each tree's depth
	groups  []treeGroup
	cats    [][]uint32
	base    float64
	// special is set when a node is categorical or MissingZero.
	special    bool
	float32Sum bool
	// three is the trees laid out for depth 3 (tree_packed.go); nil unless every tree is that
	// shallow and has only numerical splits.
	three    []tree3
	maxDepth int

	// For Explain (see tree_shap.go): each node's cover, the expected margin, why the trees
	// cannot be explained (nil when they can), and the path buffers of TreeSHAP.
	covers     []float64
	expected   float64
	explainErr error
	paths      sync.Pool

	// splitGain is the split nodes' Gain summed by transaction feature; hasGain is set when
	// a split node has a gain other than 0.
	splitGain [fraud.NumFeatures]float64
	hasGain   bool
}

// groupSize is how many trees are walked together.
const groupSize = 8

// treeGroup is groupSize consecutive trees (the last group padded with a zero leaf).
type treeGroup struct {
	roots [groupSize]int32
	// steps takes every walk to a leaf: the depth of the deepest tree.
	steps int32
	// sure is how many steps every walk takes before any can reach a leaf: the depth of the
	// shallowest leaf; before it, checking whether all walks have ended is wasted work.
	sure int32
}

// node is a TreeNode resolved for scoring.
type node struct {
	// key is the order key of a numerical split's threshold, or the float64 bits of a leaf's
	// value times its tree's weight (value), of a MissingZero split's threshold, or of a
	// categorical split's bitset index in cats.
	key uint64
	// other is the node to go to when the comparison fails (the next node is the one to go to
	// when it holds); a leaf names itself.
	other int32
	// slot is the row slot compared: a feature, its negation (negSlot + feature) or nanSlot.
	slot  uint8
	flags uint8
}

func (n *node) float() float64 { return math.Float64frombits(n.key) }

// The slots of a scoring row.
const (
	negSlot  = 32
	nanSlot  = 63
	rowSlots = 64
)

// nanKey is the order key of NaN: no key is below it, so every comparison with it fails.
const nanKey = math.MaxUint64

// orderKey maps v to an unsigned integer such that orderKey(a) < orderKey(b) exactly when
// a < b, for all float64 a and b but NaN: the sign bit flipped for positive numbers, every bit
// for negative ones, after -0 is made +0 (they compare equal).
func orderKey(v float64) uint64 {
	if v != v {
		return nanKey
	}
	b := math.Float64bits(v + 0) // -0 + 0 is +0
	return b ^ (uint64(int64(b)>>63) | 1<<63)
}

// scoringRow is x prepared for the walk: the order keys of x, of -x and of NaN.
type scoringRow [rowSlots]uint64

func (r *scoringRow) set(x *[fraud.NumFeatures]float64) {
	for j, v := range x {
		r[j] = orderKey(v)
		r[negSlot+j] = orderKey(-v)
	}
	r[nanSlot] = nanKey
}

const (
	flagLeaf = 1 << iota
	flagNaNLeft
	flagZero // MissingZero: values within ±ZeroThreshold are missing
	flagCat  // a categorical split
)

var _ Member = (*TreeEnsemble)(nil)

// maxTreeNodes bounds the nodes of one tree, so that indices fit in int32 with room to spare.
const maxTreeNodes = 1 << 24

// NewTreeEnsemble checks trees and opts and returns the ensemble. Each tree must be a proper
// binary tree rooted at node 0: children in range, every node reachable from the root by
// exactly one path (no cycle, no shared or orphan node), features in range of the model's
// features, finite thresholds, values and covers, non-negative covers, and non-empty bitsets.
// FeatureMap must send each model feature to a distinct transaction feature, TreeWeights must
// hold one finite weight per tree, and BaseMargin must be finite. The slices are copied.
func NewTreeEnsemble(trees [][]TreeNode, opts TreeOptions) (*TreeEnsemble, error) {
	if err := checkTreeOptions(opts, len(trees)); err != nil {
		return nil, fmt.Errorf("trees: %w", err)
	}
	e := &TreeEnsemble{
		trees:      make([][]TreeNode, len(trees)),
		opts:       cloneTreeOptions(opts),
		roots:      make([]int32, len(trees)),
		depths:     make([]int32, len(trees)),
		base:       opts.BaseMargin,
		float32Sum: opts.Float32Sum,
	}
	if e.float32Sum {
		e.base = float64(float32(e.base))
	}
	nfeat := fraud.NumFeatures
	if opts.FeatureMap != nil {
		nfeat = len(opts.FeatureMap)
	}
	shallow := make([]int32, len(trees))
	total := 1 // the zero leaf that pads the last group
	for t, tree := range trees {
		depth, shallowest, err := checkTree(tree, nfeat, opts)
		if err != nil {
			return nil, fmt.Errorf("trees: tree %d: %w", t, err)
		}
		e.depths[t] = int32(depth)
		shallow[t] = int32(shallowest)
		e.maxDepth = max(e.maxDepth, depth)
		total += len(tree)
	}
	if total > math.MaxInt32 {
		return nil, fmt.Errorf("trees: %d nodes in all, more than %d", total, math.MaxInt32)
	}
	e.nodes = make([]node, 0, total)
	e.leafIDs = make([]int32, 0, total)
	e.nodes = append(e.nodes, node{key: math.Float64bits(0), other: 0, slot: nanSlot, flags: flagLeaf})
	e.leafIDs = append(e.leafIDs, 0)
	for t, tree := range trees {
		e.trees[t] = normalTree(tree)
		w := 1.0
		if opts.TreeWeights != nil {
			w = opts.TreeWeights[t]
		}
		e.roots[t] = int32(len(e.nodes))
		e.appendTree(tree, w)
		for _, nd := range tree {
			if !nd.IsLeaf && nd.Gain != 0 {
				e.splitGain[e.transactionFeature(nd.Feature)] += nd.Gain
				e.hasGain = true
			}
		}
	}
	for _, n := range e.nodes {
		if n.flags&flagLeaf != 0 && !finite(n.float()) {
			return nil, errors.New("trees: a leaf value times its tree's weight overflows")
		}
	}
	for lo := 0; lo < len(trees); lo += groupSize {
		g := treeGroup{sure: math.MaxInt32} // roots default to the zero leaf, node 0
		for k := 0; k < groupSize && lo+k < len(trees); k++ {
			g.roots[k] = e.roots[lo+k]
			g.steps = max(g.steps, e.depths[lo+k])
			g.sure = min(g.sure, shallow[lo+k])
		}
		e.groups = append(e.groups, g)
	}
	e.three = e.pack3()
	e.prepareExplain()
	return e, nil
}

func checkTreeOptions(opts TreeOptions, ntrees int) error {
	if !finite(opts.BaseMargin) || opts.Float32Sum && math.IsInf(float64(float32(opts.BaseMargin)), 0) {
		return fmt.Errorf("base margin %v is not finite", opts.BaseMargin)
	}
	if opts.TreeWeights != nil {
		if len(opts.TreeWeights) != ntrees {
			return fmt.Errorf("%d tree weights for %d trees", len(opts.TreeWeights), ntrees)
		}
		for t, w := range opts.TreeWeights {
			if !finite(w) {
				return fmt.Errorf("weight of tree %d is %v, want a finite number", t, w)
			}
		}
	}
	if opts.FeatureMap != nil {
		if len(opts.FeatureMap) == 0 {
			return errors.New("feature map is empty")
		}
		var used [fraud.NumFeatures]int
		names := fraud.FeatureNames()
		for j, k := range opts.FeatureMap {
			if k < 0 || k >= fraud.NumFeatures {
				return fmt.Errorf("feature map: model feature %d maps to %d, want 0..%d", j, k, fraud.NumFeatures-1)
			}
			if used[k] != 0 {
				return fmt.Errorf("feature map: model features %d and %d both map to %s", used[k]-1, j, names[k])
			}
			used[k] = j + 1
		}
	}
	nfeat := fraud.NumFeatures
	if opts.FeatureMap != nil {
		nfeat = len(opts.FeatureMap)
	}
	if opts.FeatureNames != nil && len(opts.FeatureNames) != nfeat {
		return fmt.Errorf("%d feature names for %d model features", len(opts.FeatureNames), nfeat)
	}
	return nil
}

// checkTree checks one tree and returns its depth (0 for a lone leaf) and the depth of its
// shallowest leaf.
func checkTree(tree []TreeNode, nfeat int, opts TreeOptions) (int, int, error) {
	n := len(tree)
	if n == 0 {
		return 0, 0, errors.New("no nodes")
	}
	if n > maxTreeNodes {
		return 0, 0, fmt.Errorf("%d nodes, more than %d", n, maxTreeNodes)
	}
	depth := make([]int32, n)
	seen := make([]bool, n)
	seen[0] = true
	stack := []int32{0}
	maxDepth, shallowest := 0, math.MaxInt
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := &tree[i]
		maxDepth = max(maxDepth, int(depth[i]))
		if !finite(nd.Cover) || nd.Cover < 0 {
			return 0, 0, fmt.Errorf("node %d: cover %v, want a finite number >= 0", i, nd.Cover)
		}
		if !finite(nd.Value) {
			return 0, 0, fmt.Errorf("node %d: value %v is not finite", i, nd.Value)
		}
		if nd.IsLeaf {
			shallowest = min(shallowest, int(depth[i]))
			continue
		}
		if nd.Feature < 0 || nd.Feature >= nfeat {
			return 0, 0, fmt.Errorf("node %d: feature %d out of range 0..%d", i, nd.Feature, nfeat-1)
		}
		if !finite(nd.Gain) {
			return 0, 0, fmt.Errorf("node %d: gain %v is not finite", i, nd.Gain)
		}
		if nd.Categories != nil {
			if len(nd.Categories) == 0 || len(nd.Categories) > 1<<20 {
				return 0, 0, fmt.Errorf("node %d: categorical bitset of %d words, want 1 to %d", i, len(nd.Categories), 1<<20)
			}
		} else {
			if nd.Missing > MissingNone {
				return 0, 0, fmt.Errorf("node %d: unknown missing rule %d", i, nd.Missing)
			}
			if !finite(nd.Threshold) {
				return 0, 0, fmt.Errorf("node %d: threshold %v is not finite", i, nd.Threshold)
			}
			if opts.Float32 && math.IsInf(float64(float32(nd.Threshold)), 0) {
				return 0, 0, fmt.Errorf("node %d: threshold %v overflows float32", i, nd.Threshold)
			}
		}
		for _, c := range [2]int32{nd.Left, nd.Right} {
			switch {
			case c < 0 || int(c) >= n:
				return 0, 0, fmt.Errorf("node %d: child %d out of range 0..%d", i, c, n-1)
			case seen[c]:
				return 0, 0, fmt.Errorf("node %d: child %d is reached twice (a cycle or a shared subtree)", i, c)
			}
			seen[c] = true
			depth[c] = depth[i] + 1
			stack = append(stack, c)
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		return 0, 0, fmt.Errorf("node %d is not reachable from the root", i)
	}
	return maxDepth, shallowest, nil
}

// appendTree lays tree out depth first at the end of e.nodes, the child that a holding
// comparison goes to right after its parent.
func (e *TreeEnsemble) appendTree(tree []TreeNode, weight float64) {
	type todo struct {
		src    int32 // the node's index in tree
		parent int32 // its parent's index in e.nodes when it is the parent's other child, else -1
	}
	stack := []todo{{0, -1}}
	for len(stack) > 0 {
		td := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		at := int32(len(e.nodes))
		if td.parent >= 0 {
			e.nodes[td.parent].other = at
		}
		nd := &tree[td.src]
		e.leafIDs = append(e.leafIDs, td.src)
		if nd.IsLeaf {
			v := nd.Value * weight
			if e.float32Sum {
				v = float64(float32(nd.Value) * float32(weight))
			}
			e.nodes = append(e.nodes, node{key: math.Float64bits(v), other: at, slot: nanSlot, flags: flagLeaf})
			continue
		}
		slot := uint8(e.transactionFeature(nd.Feature))
		next, other := nd.Left, nd.Right // next: where a holding comparison goes
		var n node
		switch {
		case nd.Categories != nil:
			n = node{key: math.Float64bits(float64(len(e.cats))), slot: slot, flags: flagCat}
			e.cats = append(e.cats, slices.Clone(nd.Categories))
			e.special = true
		case nd.Missing == MissingZero:
			t := splitThreshold(nd.Threshold, e.opts.Float32, e.opts.LessOrEqual)
			n = node{key: math.Float64bits(t), slot: slot, flags: flagZero}
			if nd.DefaultLeft {
				n.flags |= flagNaNLeft
			}
			e.special = true
		default:
			t := splitThreshold(nd.Threshold, e.opts.Float32, e.opts.LessOrEqual)
			nanLeft := nd.DefaultLeft
			if nd.Missing == MissingNone {
				nanLeft = 0 < t // NaN is read as 0
			}
			n = node{key: orderKey(t), slot: slot}
			if nanLeft {
				// x < t fails for NaN and would send it right: test x >= t, that is
				// -x <= -t, that is -x < next(-t), and go left when that fails.
				n = node{key: orderKey(math.Nextafter(-t, math.Inf(1))), slot: negSlot + slot, flags: flagNaNLeft}
				next, other = nd.Right, nd.Left
			}
		}
		e.nodes = append(e.nodes, n)
		stack = append(stack, todo{other, at}, todo{next, -1})
	}
}

func (e *TreeEnsemble) transactionFeature(j int) int {
	if e.opts.FeatureMap == nil {
		return j
	}
	return e.opts.FeatureMap[j]
}

// splitThreshold returns the float64 t such that, for every float64 x but NaN, x < t exactly
// when the split sends x left: x < threshold, or x <= threshold with lessOrEqual, compared in
// float32 with f32. threshold is finite (and within float32 range with f32).
func splitThreshold(threshold float64, f32, lessOrEqual bool) float64 {
	if !f32 {
		if lessOrEqual {
			return math.Nextafter(threshold, math.Inf(1))
		}
		return threshold
	}
	t := float32(threshold)
	if lessOrEqual {
		t = math.Nextafter32(t, float32(math.Inf(1))) // float32(x) <= t ⇔ float32(x) < next(t)
	}
	return belowFloat32(t)
}

// belowFloat32 returns the float64 b such that float32(x) < t exactly when x < b, for every
// float64 x but NaN. float32(x) rounds to nearest, ties to even, so float32(x) < t holds when x
// is below the midpoint between t and the float32 p just under it, and at the midpoint itself
// when the tie goes to p.
func belowFloat32(t float32) float64 {
	if math.IsInf(float64(t), -1) {
		return math.Inf(-1)
	}
	p := math.Nextafter32(t, float32(math.Inf(-1)))
	var mid float64
	switch {
	case math.IsInf(float64(t), 1): // p is MaxFloat32: its ulp is 2^104, and above the
		mid = float64(p) + 0x1p103 // midpoint to 2^128 values round to +Inf
	case math.IsInf(float64(p), -1): // t is -MaxFloat32
		mid = -float64(math.MaxFloat32) - 0x1p103
	default:
		mid = (float64(p) + float64(t)) / 2 // exact: p and t are neighbours
	}
	if math.Float32bits(p)&1 == 0 { // the tie goes to p (an even significand; ±Inf count as even)
		return math.Nextafter(mid, math.Inf(1))
	}
	return mid
}

// Margin returns the ensemble's log-odds for x. It does not allocate.
func (e *TreeEnsemble) Margin(x *[fraud.NumFeatures]float64) float64 {
	var r scoringRow
	r.set(x)
	if e.float32Sum {
		return float64(margin(e, float32(e.base), x, &r))
	}
	return margin(e, e.base, x, &r)
}

// margin adds the trees' values for x to s, in tree order, in F's precision.
func margin[F float32 | float64](e *TreeEnsemble, s F, x *[fraud.NumFeatures]float64, r *scoringRow) F {
	if e.special {
		for t, root := range e.roots {
			s += F(e.nodes[e.walkSpecial(x, r, root, e.depths[t])].float())
		}
		return s
	}
	if e.three != nil {
		return add3(e.three, s, r)
	}
	for gi := range e.groups {
		s = addGroup(e.nodes, s, &e.groups[gi], r)
	}
	return s
}

// addGroup walks the trees of g for r and adds their values to s, in order.
func addGroup[F float32 | float64](nodes []node, s F, g *treeGroup, r *scoringRow) F {
	c0, c1, c2, c3 := g.roots[0], g.roots[1], g.roots[2], g.roots[3]
	c4, c5, c6, c7 := g.roots[4], g.roots[5], g.roots[6], g.roots[7]
	for k := int32(1); k <= g.steps; k++ {
		c0 = step(nodes, r, c0)
		c1 = step(nodes, r, c1)
		c2 = step(nodes, r, c2)
		c3 = step(nodes, r, c3)
		c4 = step(nodes, r, c4)
		c5 = step(nodes, r, c5)
		c6 = step(nodes, r, c6)
		c7 = step(nodes, r, c7)
		// Leaf-wise trees have paths of very different lengths: stop when all eight walks
		// have ended, which can only happen once the shallowest leaf is reached.
		if k >= g.sure && nodes[c0].flags&nodes[c1].flags&nodes[c2].flags&nodes[c3].flags&
			nodes[c4].flags&nodes[c5].flags&nodes[c6].flags&nodes[c7].flags&flagLeaf != 0 {
			break
		}
	}
	s += F(nodes[c0].float())
	s += F(nodes[c1].float())
	s += F(nodes[c2].float())
	s += F(nodes[c3].float())
	s += F(nodes[c4].float())
	s += F(nodes[c5].float())
	s += F(nodes[c6].float())
	s += F(nodes[c7].float())
	return s
}

// step takes one step from node i: to i+1 when the row's key is below the node's, else to
// the node's other child. The choice is made by arithmetic on the borrow of the subtraction,
// without a branch: the compiler keeps a branch (and its mispredictions) for an if whose
// result addresses a load.
func step(nodes []node, r *scoringRow, i int32) int32 {
	n := &nodes[i]
	_, below := bits.Sub64(r[n.slot&(rowSlots-1)], n.key, 0)
	mask := -int32(below) // all ones when below
	return n.other ^ ((n.other ^ (i + 1)) & mask)
}

// walkSpecial walks steps steps from node i, deciding every kind of split, and returns where
// it ends.
func (e *TreeEnsemble) walkSpecial(x *[fraud.NumFeatures]float64, r *scoringRow, i, steps int32) int32 {
	for range steps {
		n := &e.nodes[i]
		var ok bool
		switch {
		case n.flags&flagCat != 0:
			ok = e.inCategories(n, x[n.slot])
		case n.flags&flagZero != 0:
			v := x[n.slot]
			if v != v || v >= -ZeroThreshold && v <= ZeroThreshold {
				ok = n.flags&flagNaNLeft != 0
			} else {
				ok = v < n.float()
			}
		default:
			ok = r[n.slot&(rowSlots-1)] < n.key
		}
		if ok {
			i++
		} else {
			i = n.other
		}
	}
	return i
}

// inCategories reports whether v is a category in n's bitset.
func (e *TreeEnsemble) inCategories(n *node, v float64) bool {
	bits := e.cats[int(n.float())]
	if !(v > -1) || v >= float64(32*len(bits)) { // NaN, a negative category or one beyond the set
		return false
	}
	c := int(v)
	return bits[c>>5]>>(c&31)&1 != 0
}

// LeafIndices appends to dst[:0] the leaf that x reaches in each tree, as the leaf's index in
// its tree's TreeNode slice, and returns it. It does not allocate when dst has room for NumTrees
// indices.
func (e *TreeEnsemble) LeafIndices(x *[fraud.NumFeatures]float64, dst []int) []int {
	var r scoringRow
	r.set(x)
	dst = dst[:0]
	for t, i := range e.roots {
		if e.special {
			i = e.walkSpecial(x, &r, i, e.depths[t])
		} else {
			for range e.depths[t] {
				i = step(e.nodes, &r, i)
			}
		}
		dst = append(dst, int(e.leafIDs[i]))
	}
	return dst
}

// batchBlock is how many rows MarginBatch runs through a group of trees before moving to the
// next group, so that the group's nodes stay in cache while the block goes through them.
const batchBlock = 32

// minRowsPerWorker keeps MarginBatch from starting a goroutine for less work than it costs.
const minRowsPerWorker = 256

// MarginBatch sets out[i] to Margin(&xs[i]) for every row, splitting the rows over up to
// GOMAXPROCS goroutines. The results equal Margin's bit for bit. It panics unless
// len(out) == len(xs).
func (e *TreeEnsemble) MarginBatch(xs [][fraud.NumFeatures]float64, out []float64) {
	if len(out) != len(xs) {
		panic(fmt.Sprintf("model: MarginBatch: %d outputs for %d rows", len(out), len(xs)))
	}
	workers := min(runtime.GOMAXPROCS(0), len(xs)/minRowsPerWorker)
	if workers <= 1 {
		e.marginRows(xs, out)
		return
	}
	per := (len(xs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(xs); lo += per {
		hi := min(lo+per, len(xs))
		wg.Go(func() { e.marginRows(xs[lo:hi], out[lo:hi]) })
	}
	wg.Wait()
}

// marginRows scores rows a block at a time, adding the trees in the same order as Margin.
func (e *TreeEnsemble) marginRows(xs [][fraud.NumFeatures]float64, out []float64) {
	if e.special {
		for i := range xs {
			out[i] = e.Margin(&xs[i])
		}
		return
	}
	var rows [batchBlock]scoringRow
	for lo := 0; lo < len(xs); lo += batchBlock {
		hi := min(lo+batchBlock, len(xs))
		block, sums := rows[:hi-lo], out[lo:hi]
		for i := range block {
			block[i].set(&xs[lo+i])
			sums[i] = e.base // a float32 when float32Sum
		}
		if e.three != nil {
			for lo := 0; lo < len(e.three); lo += groupSize {
				g := e.three[lo:min(lo+groupSize, len(e.three))]
				for i := range block {
					if e.float32Sum {
						sums[i] = float64(add3(g, float32(sums[i]), &block[i]))
					} else {
						sums[i] = add3(g, sums[i], &block[i])
					}
				}
			}
			continue
		}
		for gi := range e.groups {
			g := &e.groups[gi]
			for i := range block {
				if e.float32Sum {
					sums[i] = float64(addGroup(e.nodes, float32(sums[i]), g, &block[i]))
				} else {
					sums[i] = addGroup(e.nodes, sums[i], g, &block[i])
				}
			}
		}
	}
}

// NumTrees returns the number of trees.
func (e *TreeEnsemble) NumTrees() int { return len(e.roots) }

// MaxDepth returns the depth of the deepest tree (0 when every tree is a lone leaf).
func (e *TreeEnsemble) MaxDepth() int { return e.maxDepth }

// Trees returns a copy of the trees as they were built, before the options were applied.
func (e *TreeEnsemble) Trees() [][]TreeNode {
	out := make([][]TreeNode, len(e.trees))
	for t, tree := range e.trees {
		out[t] = cloneTree(tree)
	}
	return out
}

// SplitGain returns the gain of the ensemble's splits summed by transaction feature, in
// fraud.FeatureNames order, in the units of the library that grew the trees (see
// TreeNode.Gain), and whether any split recorded a gain: a tree file written before gains
// were kept has none, and gives ok false.
func (e *TreeEnsemble) SplitGain() (gain [fraud.NumFeatures]float64, ok bool) {
	return e.splitGain, e.hasGain
}

// Options returns a copy of the ensemble's options.
func (e *TreeEnsemble) Options() TreeOptions { return cloneTreeOptions(e.opts) }

// normalTree returns a copy of tree with the fields its nodes ignore zeroed, so that what Trees
// returns survives a round trip through the member file.
func normalTree(tree []TreeNode) []TreeNode {
	out := cloneTree(tree)
	for i := range out {
		nd := &out[i]
		switch {
		case nd.IsLeaf:
			*nd = TreeNode{IsLeaf: true, Value: nd.Value, Cover: nd.Cover}
		case nd.Categories != nil:
			nd.Threshold, nd.Missing = 0, MissingNaN
		}
	}
	return out
}

func cloneTree(tree []TreeNode) []TreeNode {
	out := slices.Clone(tree)
	for i := range out {
		if out[i].Categories != nil {
			out[i].Categories = slices.Clone(out[i].Categories)
		}
	}
	return out
}

func cloneTreeOptions(o TreeOptions) TreeOptions {
	o.TreeWeights = slices.Clone(o.TreeWeights)
	o.FeatureMap = slices.Clone(o.FeatureMap)
	o.FeatureNames = slices.Clone(o.FeatureNames)
	return o
}
