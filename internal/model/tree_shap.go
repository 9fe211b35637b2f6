package model

import (
	"fmt"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Path-dependent TreeSHAP: Algorithm 2 of Lundberg, Erion and Lee, "Consistent Individualized
// Feature Attribution for Tree Ensembles" (2018), as XGBoost and the shap package implement it.
//
// The value of a set S of known features is the tree's output where the features of S follow
// x and every other split sends the row down both children, weighted by the share of the
// node's cover that each child holds. TreeSHAP computes the Shapley values of that game in
// O(leaves · depth²) per tree: walking the tree, it keeps for the path from the root the
// features split on, each with its zero fraction (the share of the covers the path keeps at
// that feature's splits: what the feature contributes when unknown) and its one fraction (1
// when x itself takes the path there, else 0: when known), and the weights of the subsets of
// the path's features by size (EXTEND). At a leaf, undoing one feature from the weights
// (UNWIND) gives the weight its known and unknown states carry. A feature split on twice on a
// path is unwound at its second split and extended again with the product of its fractions.
//
// The walk decides each split with the scoring walk's own step (walkSpecial), over the same
// flattened nodes, so that an explanation follows the path Margin takes, missing values,
// float32 thresholds and categories included.

// pathElem is one feature on the path from the root to the node being walked.
type pathElem struct {
	feature int32   // the transaction feature; -1 for the root's placeholder
	zero    float64 // the share of the covers the path keeps at the feature's splits
	one     float64 // 1 when x takes the path at every split on the feature, else 0
	weight  float64 // the permutation weight of the subsets of this element's size
}

// prepareExplain sets, once the nodes are laid out, what Explain reads: each node's cover and
// the expected margin, the base plus the cover-weighted mean of each tree's leaves, computed
// bottom up (a node's children come after it in e.nodes). A split node with cover 0 makes the
// trees unexplainable (explainErr).
func (e *TreeEnsemble) prepareExplain() {
	e.covers = make([]float64, len(e.nodes))
	mean := make([]float64, len(e.nodes))
	e.expected = e.base
	for t, root := range e.roots {
		end := int32(len(e.nodes))
		if t+1 < len(e.roots) {
			end = e.roots[t+1]
		}
		for i := root; i < end; i++ {
			e.covers[i] = e.trees[t][e.leafIDs[i]].Cover
		}
		for i := end - 1; i >= root; i-- {
			n := &e.nodes[i]
			switch {
			case n.flags&flagLeaf != 0:
				mean[i] = n.float()
			case e.covers[i] == 0:
				if e.explainErr == nil {
					e.explainErr = fmt.Errorf("%w: tree %d, node %d has cover 0", ErrNoCovers, t, e.leafIDs[i])
				}
			default:
				mean[i] = (e.covers[i+1]*mean[i+1] + e.covers[n.other]*mean[n.other]) / e.covers[i]
			}
		}
		e.expected += mean[root]
	}
	size := (e.maxDepth + 2) * (e.maxDepth + 3) / 2 // the paths of every level of one walk
	e.paths.New = func() any {
		buf := make([]pathElem, size)
		return &buf
	}
}

// Explain sets dst to the path-dependent TreeSHAP values of the member's margin for x (see
// the comment at the top of tree_shap.go): BaseValue is the expected margin, BaseMargin plus
// each tree's leaves averaged by their covers (tree weights applied), and the contributions
// are exact Shapley values of the game whose value for a set S of known features is that
// expectation with the features of S following x.
//
// dst.Margin is Margin(x). BaseValue and the contributions are summed in float64: they add up
// to the float64 sum of the leaves x reaches, which is Margin(x) to within about 1e-12 unless
// the ensemble sums in float32 (TreeOptions.Float32Sum, as XGBoost does): Margin is then that
// sum rounded in float32 tree after tree, about 1e-7 relative per tree away.
//
// The error wraps ErrNoCovers when a split node has cover 0. Explain takes time in
// O(leaves · depth²) per tree and does not allocate in the steady state.
func (e *TreeEnsemble) Explain(x *[fraud.NumFeatures]float64, dst *Explanation) error {
	if e.explainErr != nil {
		return e.explainErr
	}
	*dst = Explanation{BaseValue: e.expected, Margin: e.Margin(x)}
	buf := e.paths.Get().(*[]pathElem)
	w := shapWalk{e: e, x: x, phi: &dst.Contributions}
	w.r.set(x)
	for _, root := range e.roots {
		w.walk(root, nil, *buf, 0, 1, 1, -1)
	}
	e.paths.Put(buf)
	return nil
}

// shapWalk is the state of one Explain.
type shapWalk struct {
	e   *TreeEnsemble
	x   *[fraud.NumFeatures]float64
	r   scoringRow
	phi *[fraud.NumFeatures]float64
}

// walk visits node i, reached by the split on feature whose fractions are zero and one, with
// depth features on the path before it (parent holds them and the root's placeholder). Its
// own path goes at the start of free, and its children's after it.
func (w *shapWalk) walk(i int32, parent, free []pathElem, depth int, zero, one float64, feature int32) {
	path := free[:depth+1]
	free = free[depth+1:]
	copy(path, parent[:depth])
	extendPath(path, depth, zero, one, feature)
	n := &w.e.nodes[i]
	if n.flags&flagLeaf != 0 {
		v := n.float()
		for k := 1; k <= depth; k++ {
			el := &path[k]
			w.phi[el.feature] += unwoundPathSum(path, depth, k) * (el.one - el.zero) * v
		}
		return
	}
	hot := w.e.walkSpecial(w.x, &w.r, i, 1) // the child scoring takes
	cold := n.other
	if hot == n.other {
		cold = i + 1
	}
	f := int32(n.slot &^ negSlot) // a split on -x (NaN sent left) reads slot negSlot + feature
	cover := w.e.covers[i]
	hotZero, coldZero := w.e.covers[hot]/cover, w.e.covers[cold]/cover
	inZero, inOne := 1.0, 1.0
	for k := 1; k <= depth; k++ {
		if path[k].feature == f { // split on before: undo it, and redo it with both fractions
			inZero, inOne = path[k].zero, path[k].one
			unwindPath(path, depth, k)
			depth--
			break
		}
	}
	// A child that neither the covers nor x reach weighs zero in every subset: skipping it
	// also keeps a zero fraction out of UNWIND's divisions.
	if hotZero*inZero != 0 || inOne != 0 {
		w.walk(hot, path, free, depth+1, hotZero*inZero, inOne, f)
	}
	if coldZero*inZero != 0 {
		w.walk(cold, path, free, depth+1, coldZero*inZero, 0, f)
	}
}

// extendPath adds the feature with fractions zero and one at path[depth] and updates the
// subset weights (EXTEND).
func extendPath(path []pathElem, depth int, zero, one float64, feature int32) {
	path[depth] = pathElem{feature: feature, zero: zero, one: one}
	if depth == 0 {
		path[0].weight = 1
	}
	d1 := float64(depth + 1)
	for i := depth - 1; i >= 0; i-- {
		path[i+1].weight += one * path[i].weight * float64(i+1) / d1
		path[i].weight = zero * path[i].weight * float64(depth-i) / d1
	}
}

// unwindPath removes path[k] from the path of depth features and undoes its EXTEND on the
// subset weights (UNWIND).
func unwindPath(path []pathElem, depth, k int) {
	one, zero := path[k].one, path[k].zero
	d1 := float64(depth + 1)
	next := path[depth].weight
	for i := depth - 1; i >= 0; i-- {
		if one != 0 {
			tmp := path[i].weight
			path[i].weight = next * d1 / (float64(i+1) * one)
			next = tmp - path[i].weight*zero*float64(depth-i)/d1
		} else {
			path[i].weight = path[i].weight * d1 / (zero * float64(depth-i))
		}
	}
	for i := k; i < depth; i++ {
		path[i].feature, path[i].zero, path[i].one = path[i+1].feature, path[i+1].zero, path[i+1].one
	}
}

// unwoundPathSum returns the total of the subset weights path would have without path[k],
// which is what UNWIND would leave, without changing path.
func unwoundPathSum(path []pathElem, depth, k int) float64 {
	one, zero := path[k].one, path[k].zero
	d1 := float64(depth + 1)
	next := path[depth].weight
	var total float64
	for i := depth - 1; i >= 0; i-- {
		if one != 0 {
			tmp := next * d1 / (float64(i+1) * one)
			total += tmp
			next = path[i].weight - tmp*zero*float64(depth-i)/d1
		} else {
			total += path[i].weight / zero * d1 / float64(depth-i)
		}
	}
	return total
}
