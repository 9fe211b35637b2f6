package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The tree member file.
//
// A tree member is stored as one JSON object (TreesFile, "trees.json", in a bundle):
//
//	{
//	  "kind": "trees",
//	  "features": ["Time", "V1", ..., "Amount"],  the transaction features, as in every member file
//	  "source": "xgboost 1.7.4 gbtree",           where the trees came from (informative)
//	  "model_features": ["f0", ...],              the model's own feature names (optional)
//	  "feature_map": [0, 1, ...],                 model feature j reads features[feature_map[j]];
//	                                              absent when the model's features are the transaction's
//	  "float32": true,                            thresholds compared in float32 (XGBoost)
//	  "less_or_equal": false,                     x <= threshold goes left (LightGBM) instead of x < threshold
//	  "float32_sum": true,                        the margin is summed in float32 (XGBoost); absent when false
//	  "base_margin": -1.386,                      added to the trees' sum (log-odds)
//	  "tree_weights": [1, 0.5, ...],              one per tree (DART); absent when all are 1
//	  "trees": [{...}, ...]
//	}
//
// Each tree is a structure of arrays, one entry per node, the root first:
//
//	"left", "right"    children's indices; -1 and -1 in a leaf
//	"feature"          the split's model feature (0 in a leaf)
//	"threshold"        the numerical split's threshold (0 in a leaf or a categorical split)
//	"default_left"     1 when missing values go left, else 0
//	"missing"          0 NaN is missing, 1 NaN and ±1e-35 are missing, 2 nothing is missing
//	                   (NaN reads as 0); absent when all are 0 (see MissingRule)
//	"value"            the leaf value, before the tree weight (internal nodes: informative)
//	"cover"            the hessian sum or row count that reached the node (see TreeNode.Cover)
//	"gain"             the split's gain (see TreeNode.Gain), 0 in a leaf; absent when every
//	                   node's is 0, so a tree without gains is written as before gains were kept
//	"cat_nodes"        the categorical splits' node indices, and
//	"cat_sets"         their category bitsets (see TreeNode.Categories); absent when none
//
// Numbers are written by encoding/json, shortest form that reads back to the same float64, so
// a loaded member scores exactly as the one saved. LoadTrees rejects unknown fields.

type treesFile struct {
	Kind          string     `json:"kind"`
	Features      []string   `json:"features"`
	Source        string     `json:"source,omitempty"`
	ModelFeatures []string   `json:"model_features,omitempty"`
	FeatureMap    []int      `json:"feature_map,omitempty"`
	Float32       bool       `json:"float32"`
	LessOrEqual   bool       `json:"less_or_equal"`
	Float32Sum    bool       `json:"float32_sum,omitempty"`
	BaseMargin    float64    `json:"base_margin"`
	TreeWeights   []float64  `json:"tree_weights,omitempty"`
	Trees         []treeFile `json:"trees"`
}

type treeFile struct {
	Left        []int32    `json:"left"`
	Right       []int32    `json:"right"`
	Feature     []int      `json:"feature"`
	Threshold   []float64  `json:"threshold"`
	DefaultLeft []int      `json:"default_left"`
	Missing     []int      `json:"missing,omitempty"`
	Value       []float64  `json:"value"`
	Cover       []float64  `json:"cover"`
	Gain        []float64  `json:"gain,omitempty"`
	CatNodes    []int      `json:"cat_nodes,omitempty"`
	CatSets     [][]uint32 `json:"cat_sets,omitempty"`
}

// MarshalJSON encodes e as its member file.
func (e *TreeEnsemble) MarshalJSON() ([]byte, error) {
	f := treesFile{
		Kind:          KindTrees,
		Features:      fraud.FeatureNames(),
		Source:        e.opts.Source,
		ModelFeatures: e.opts.FeatureNames,
		FeatureMap:    e.opts.FeatureMap,
		Float32:       e.opts.Float32,
		LessOrEqual:   e.opts.LessOrEqual,
		Float32Sum:    e.opts.Float32Sum,
		BaseMargin:    e.opts.BaseMargin,
		TreeWeights:   e.opts.TreeWeights,
		Trees:         make([]treeFile, len(e.trees)),
	}
	for t, tree := range e.trees {
		n := len(tree)
		tf := treeFile{
			Left:        make([]int32, n),
			Right:       make([]int32, n),
			Feature:     make([]int, n),
			Threshold:   make([]float64, n),
			DefaultLeft: make([]int, n),
			Value:       make([]float64, n),
			Cover:       make([]float64, n),
		}
		missing := make([]int, n)
		gain := make([]float64, n)
		anyMissing, anyGain := false, false
		for i, nd := range tree {
			tf.Value[i], tf.Cover[i] = nd.Value, nd.Cover
			if nd.IsLeaf {
				tf.Left[i], tf.Right[i] = -1, -1
				continue
			}
			tf.Left[i], tf.Right[i] = nd.Left, nd.Right
			tf.Feature[i] = nd.Feature
			gain[i] = nd.Gain
			anyGain = anyGain || nd.Gain != 0
			if nd.DefaultLeft {
				tf.DefaultLeft[i] = 1
			}
			if nd.Categories != nil {
				tf.CatNodes = append(tf.CatNodes, i)
				tf.CatSets = append(tf.CatSets, nd.Categories)
				continue
			}
			tf.Threshold[i] = nd.Threshold
			missing[i] = int(nd.Missing)
			anyMissing = anyMissing || nd.Missing != MissingNaN
		}
		if anyMissing {
			tf.Missing = missing
		}
		if anyGain {
			tf.Gain = gain
		}
		f.Trees[t] = tf
	}
	return json.Marshal(f)
}

// LoadTrees decodes a tree member file (see MarshalJSON) and builds its ensemble. It is the
// MemberLoader of KindTrees.
func LoadTrees(data []byte) (Member, error) {
	e, err := DecodeTrees(data)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// DecodeTrees is LoadTrees returning the concrete type.
func DecodeTrees(data []byte) (*TreeEnsemble, error) {
	var f treesFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("trees: decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trees: decode: data after the trees object")
	}
	if f.Kind != KindTrees {
		return nil, fmt.Errorf("trees: kind is %q, want %q", f.Kind, KindTrees)
	}
	if err := checkFeatures(f.Features); err != nil {
		return nil, fmt.Errorf("trees: %w", err)
	}
	trees := make([][]TreeNode, len(f.Trees))
	for t, tf := range f.Trees {
		tree, err := tf.nodes()
		if err != nil {
			return nil, fmt.Errorf("trees: tree %d: %w", t, err)
		}
		trees[t] = tree
	}
	return NewTreeEnsemble(trees, TreeOptions{
		BaseMargin:   f.BaseMargin,
		TreeWeights:  f.TreeWeights,
		Float32:      f.Float32,
		LessOrEqual:  f.LessOrEqual,
		Float32Sum:   f.Float32Sum,
		FeatureMap:   f.FeatureMap,
		FeatureNames: f.ModelFeatures,
		Source:       f.Source,
	})
}

func (tf *treeFile) nodes() ([]TreeNode, error) {
	n := len(tf.Left)
	for _, a := range []struct {
		name string
		len  int
	}{
		{"right", len(tf.Right)}, {"feature", len(tf.Feature)}, {"threshold", len(tf.Threshold)},
		{"default_left", len(tf.DefaultLeft)}, {"value", len(tf.Value)}, {"cover", len(tf.Cover)},
	} {
		if a.len != n {
			return nil, fmt.Errorf("%s has %d entries, left has %d", a.name, a.len, n)
		}
	}
	if tf.Missing != nil && len(tf.Missing) != n {
		return nil, fmt.Errorf("missing has %d entries, left has %d", len(tf.Missing), n)
	}
	if tf.Gain != nil && len(tf.Gain) != n {
		return nil, fmt.Errorf("gain has %d entries, left has %d", len(tf.Gain), n)
	}
	if len(tf.CatNodes) != len(tf.CatSets) {
		return nil, fmt.Errorf("%d cat_nodes but %d cat_sets", len(tf.CatNodes), len(tf.CatSets))
	}
	tree := make([]TreeNode, n)
	for i := range tree {
		nd := &tree[i]
		nd.Value, nd.Cover = tf.Value[i], tf.Cover[i]
		if tf.Left[i] == -1 && tf.Right[i] == -1 {
			nd.IsLeaf = true
			continue
		}
		nd.Left, nd.Right = tf.Left[i], tf.Right[i]
		nd.Feature = tf.Feature[i]
		nd.Threshold = tf.Threshold[i]
		if tf.Gain != nil {
			nd.Gain = tf.Gain[i]
		}
		switch tf.DefaultLeft[i] {
		case 0:
		case 1:
			nd.DefaultLeft = true
		default:
			return nil, fmt.Errorf("node %d: default_left is %d, want 0 or 1", i, tf.DefaultLeft[i])
		}
		if tf.Missing != nil {
			if m := tf.Missing[i]; m < 0 || m > int(MissingNone) {
				return nil, fmt.Errorf("node %d: missing is %d, want 0, 1 or 2", i, m)
			}
			nd.Missing = MissingRule(tf.Missing[i])
		}
	}
	for k, i := range tf.CatNodes {
		if i < 0 || i >= n || tree[i].IsLeaf {
			return nil, fmt.Errorf("cat_nodes[%d] = %d is not a split node", k, i)
		}
		if tree[i].Categories != nil {
			return nil, fmt.Errorf("cat_nodes lists node %d twice", i)
		}
		if len(tf.CatSets[k]) == 0 {
			return nil, fmt.Errorf("cat_sets[%d] is empty", k)
		}
		tree[i].Categories = tf.CatSets[k]
	}
	return tree, nil
}
