// Package lightgbm imports LightGBM models saved in its text format (versions v2, v3 and v4)
// into tree ensembles of package model.
//
// Only binary models (objective "binary sigmoid:S") of the gbdt, dart, goss and rf boosters
// are taken. The ensemble reproduces LightGBM's prediction: a numerical split sends x left when
// x <= threshold in float64, with LightGBM's missing types (None: NaN reads as 0; Zero: NaN and
// |x| <= 1e-35 follow the default direction; NaN: NaN follows it); a categorical split sends x
// left when int(x) is in the split's bitset, and NaN and negative values right. The text format
// stores leaf values with the learning rate (shrinkage) and DART's normalisation already
// applied, and the initial score folded into the first tree, so the raw score is the plain sum
// of the leaves (divided by the number of iterations for average_output, the rf booster's
// flag). The margin is S times the raw score, so that the probability is
// 1/(1+exp(-S·raw)), as LightGBM computes it.
//
// LightGBM numbers a tree's internal nodes and its leaves separately; in the imported tree
// internal node i is node i and leaf j is node num_leaves-1+j (see LeafNode).
package lightgbm

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fraudguard/fraudguard/internal/model"
)

// Options says how an imported model's features map onto the transaction's.
type Options struct {
	// Positional maps a model of exactly 30 unnamed features (LightGBM's Column_0..Column_29)
	// onto Time, V1..V28, Amount by position. Named features always map by name.
	Positional bool
}

// Model is a parsed LightGBM model, its trees still over the model's own features.
type Model struct {
	// Version is the text format's version: "v2", "v3" or "v4".
	Version string
	// Objective is the objective line, such as "binary sigmoid:1".
	Objective string
	// Sigmoid is the objective's sigmoid parameter S: the margin is S times the raw score.
	Sigmoid float64
	// AverageOutput is set for models whose raw score is the mean of the trees (rf).
	AverageOutput bool
	// FeatureNames are the model's feature names.
	FeatureNames []string
	// Trees are the model's trees over its own features; Cover is LightGBM's data count and
	// Gain its split_gain.
	Trees [][]model.TreeNode
	// Shrinkage is each tree's recorded shrinkage, informative: it is already in the leaves.
	Shrinkage []float64
}

// LeafNode returns the index in an imported tree of LightGBM's leaf leaf of a tree with
// numLeaves leaves.
func LeafNode(numLeaves, leaf int) int { return numLeaves - 1 + leaf }

// Import parses a LightGBM text model (see Parse) and builds its ensemble over the transaction
// features (see Model.Ensemble).
func Import(data []byte, opts Options) (*Model, *model.TreeEnsemble, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, nil, err
	}
	fm, err := m.FeatureMap(opts.Positional)
	if err != nil {
		return nil, nil, fmt.Errorf("lightgbm: %w", err)
	}
	e, err := m.Ensemble(fm)
	if err != nil {
		return nil, nil, err
	}
	return m, e, nil
}

// FeatureMap maps the model's features onto the transaction's: by name, or by position when
// they are unnamed (Column_0, Column_1, ...) and positional is set (see model.MapFeatures).
func (m *Model) FeatureMap(positional bool) ([]int, error) {
	return model.MapFeatures(m.FeatureNames, len(m.FeatureNames), positional, func(i int, name string) bool {
		return name == "Column_"+strconv.Itoa(i)
	})
}

// Ensemble builds the model's tree ensemble, reading model feature j from transaction feature
// featureMap[j].
func (m *Model) Ensemble(featureMap []int) (*model.TreeEnsemble, error) {
	w := m.Sigmoid
	if m.AverageOutput && len(m.Trees) > 0 {
		w /= float64(len(m.Trees))
	}
	weights := make([]float64, len(m.Trees))
	for i := range weights {
		weights[i] = w
	}
	e, err := model.NewTreeEnsemble(m.Trees, model.TreeOptions{
		TreeWeights:  weights,
		LessOrEqual:  true,
		FeatureMap:   featureMap,
		FeatureNames: m.FeatureNames,
		Source:       "lightgbm " + m.Version + " " + m.Objective,
	})
	if err != nil {
		return nil, fmt.Errorf("lightgbm: %w", err)
	}
	return e, nil
}

// Parse reads a LightGBM text model. It fails, naming what is wrong, on a file that is not a
// LightGBM text model, a version other than v2, v3 and v4, an objective other than binary, more
// than one class or tree per iteration, linear trees, a truncated file (no "end of trees", or
// fewer trees than tree_sizes announces) and inconsistent trees.
func Parse(data []byte) (*Model, error) {
	m, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("lightgbm: %w", err)
	}
	return m, nil
}

// Supported text format versions.
var versions = []string{"v2", "v3", "v4"}

func parse(data []byte) (*Model, error) {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) {
		return nil, errors.New("empty file")
	}
	if strings.TrimSpace(lines[i]) != "tree" {
		return nil, fmt.Errorf("not a LightGBM text model: the first line is %.40q, want \"tree\"", lines[i])
	}
	i++
	if !slices.ContainsFunc(lines[i:], func(l string) bool { return strings.TrimSpace(l) == "end of trees" }) {
		return nil, errors.New("truncated: no \"end of trees\" line")
	}
	head := map[string]string{}
	flags := map[string]bool{}
	for ; i < len(lines) && !strings.HasPrefix(lines[i], "Tree="); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			continue
		}
		if line == "end of trees" {
			break
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			head[k] = v
		} else {
			flags[line] = true
		}
	}
	m := &Model{AverageOutput: flags["average_output"]}
	if err := m.parseHeader(head); err != nil {
		return nil, err
	}
	sizes := -1
	if s, ok := head["tree_sizes"]; ok && strings.TrimSpace(s) != "" {
		sizes = len(strings.Fields(s))
	}
	for ended := false; !ended && i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case line == "end of trees":
			ended = true
		case strings.HasPrefix(line, "Tree="):
			n, err := strconv.Atoi(strings.TrimPrefix(line, "Tree="))
			if err != nil || n != len(m.Trees) {
				return nil, fmt.Errorf("line %d: %q, want Tree=%d", i+1, line, len(m.Trees))
			}
			block := map[string]string{}
			i++
			for ; i < len(lines); i++ {
				l := strings.TrimSpace(lines[i])
				if l == "" || strings.HasPrefix(l, "Tree=") || l == "end of trees" {
					break
				}
				k, v, ok := strings.Cut(l, "=")
				if !ok {
					return nil, fmt.Errorf("line %d: %.40q in tree %d is not key=value", i+1, l, n)
				}
				block[k] = v
			}
			tree, shrinkage, err := m.parseTree(block)
			if err != nil {
				return nil, fmt.Errorf("tree %d: %w", n, err)
			}
			m.Trees = append(m.Trees, tree)
			m.Shrinkage = append(m.Shrinkage, shrinkage)
			i-- // the loop's i++ comes back to the line that ended the block
		case line != "":
			return nil, fmt.Errorf("line %d: unexpected %.40q between trees", i+1, line)
		}
	}
	if sizes >= 0 && sizes != len(m.Trees) {
		return nil, fmt.Errorf("truncated or inconsistent: tree_sizes lists %d trees, the file holds %d", sizes, len(m.Trees))
	}
	if len(m.Trees) == 0 {
		return nil, errors.New("the model has no trees")
	}
	return m, nil
}

func (m *Model) parseHeader(head map[string]string) error {
	v, ok := head["version"]
	if !ok {
		return fmt.Errorf("no version line: the text format's version is unknown (this build reads %s)", strings.Join(versions, ", "))
	}
	m.Version = strings.TrimSpace(v)
	known := false
	for _, w := range versions {
		known = known || m.Version == w
	}
	if !known {
		return fmt.Errorf("text format version %q is not supported (this build reads %s)", m.Version, strings.Join(versions, ", "))
	}
	m.Objective = strings.TrimSpace(head["objective"])
	fields := strings.Fields(m.Objective)
	if len(fields) == 0 {
		return errors.New("no objective line")
	}
	if fields[0] != "binary" {
		return fmt.Errorf("objective %q is not supported: only binary (a probability of fraud) is", m.Objective)
	}
	m.Sigmoid = 1
	for _, f := range fields[1:] {
		if s, ok := strings.CutPrefix(f, "sigmoid:"); ok {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || !(x > 0) || math.IsInf(x, 0) {
				return fmt.Errorf("objective %q: sigmoid %q is not a positive number", m.Objective, s)
			}
			m.Sigmoid = x
		}
	}
	for _, key := range []string{"num_class", "num_tree_per_iteration"} {
		if s, ok := head[key]; ok {
			if n, err := strconv.Atoi(strings.TrimSpace(s)); err != nil || n != 1 {
				return fmt.Errorf("%s is %s: only single-output binary models are supported", key, s)
			}
		}
	}
	maxIdx, err := strconv.Atoi(strings.TrimSpace(head["max_feature_idx"]))
	if err != nil || maxIdx < 0 || maxIdx > 1<<20 {
		return fmt.Errorf("max_feature_idx is %q, want a feature index", head["max_feature_idx"])
	}
	m.FeatureNames = strings.Fields(head["feature_names"])
	if len(m.FeatureNames) != maxIdx+1 {
		return fmt.Errorf("feature_names lists %d features, max_feature_idx says %d", len(m.FeatureNames), maxIdx+1)
	}
	return nil
}

// parseTree converts one tree block; it returns the tree and its recorded shrinkage.
func (m *Model) parseTree(b map[string]string) ([]model.TreeNode, float64, error) {
	nl, err := atoi(b, "num_leaves")
	if err != nil {
		return nil, 0, err
	}
	if nl < 1 || nl > 1<<23 {
		return nil, 0, fmt.Errorf("num_leaves is %d", nl)
	}
	if s := strings.TrimSpace(b["is_linear"]); s != "" && s != "0" {
		return nil, 0, errors.New("linear trees (is_linear=1) are not supported")
	}
	shrinkage := 1.0
	if s, ok := b["shrinkage"]; ok {
		if shrinkage, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return nil, 0, fmt.Errorf("shrinkage is %q", s)
		}
	}
	leafValue, err := floats(b, "leaf_value", nl)
	if err != nil {
		return nil, 0, err
	}
	leafCount, err := optionalFloats(b, "leaf_count", nl)
	if err != nil {
		return nil, 0, err
	}
	tree := make([]model.TreeNode, 2*nl-1)
	for j := range nl {
		tree[LeafNode(nl, j)] = model.TreeNode{IsLeaf: true, Value: leafValue[j], Cover: at(leafCount, j)}
	}
	if nl == 1 {
		return tree, shrinkage, nil
	}
	ni := nl - 1
	feature, err := ints(b, "split_feature", ni)
	if err != nil {
		return nil, 0, err
	}
	threshold, err := floats(b, "threshold", ni)
	if err != nil {
		return nil, 0, err
	}
	decision, err := ints(b, "decision_type", ni)
	if err != nil {
		return nil, 0, err
	}
	left, err := ints(b, "left_child", ni)
	if err != nil {
		return nil, 0, err
	}
	right, err := ints(b, "right_child", ni)
	if err != nil {
		return nil, 0, err
	}
	internalCount, err := optionalFloats(b, "internal_count", ni)
	if err != nil {
		return nil, 0, err
	}
	internalValue, err := optionalFloats(b, "internal_value", ni)
	if err != nil {
		return nil, 0, err
	}
	splitGain, err := optionalFloats(b, "split_gain", ni)
	if err != nil {
		return nil, 0, err
	}
	numCat := 0
	if _, ok := b["num_cat"]; ok {
		if numCat, err = atoi(b, "num_cat"); err != nil {
			return nil, 0, err
		}
	}
	var catBounds, catBits []int
	if numCat > 0 {
		if catBounds, err = ints(b, "cat_boundaries", numCat+1); err != nil {
			return nil, 0, err
		}
		words := strings.Fields(b["cat_threshold"])
		catBits = make([]int, len(words))
		for k, w := range words {
			x, err := strconv.ParseUint(w, 10, 32)
			if err != nil {
				return nil, 0, fmt.Errorf("cat_threshold[%d] is %q, want a 32-bit word", k, w)
			}
			catBits[k] = int(x)
		}
		for k := range numCat {
			if catBounds[k] < 0 || catBounds[k] >= catBounds[k+1] || catBounds[k+1] > len(catBits) {
				return nil, 0, fmt.Errorf("cat_boundaries %v do not fit cat_threshold's %d words", catBounds, len(catBits))
			}
		}
	}
	child := func(c int) (int32, error) {
		switch {
		case c >= 0 && c < ni:
			return int32(c), nil
		case c < 0 && ^c < nl:
			return int32(LeafNode(nl, ^c)), nil
		}
		return 0, fmt.Errorf("child %d out of range for %d leaves", c, nl)
	}
	for i := range ni {
		nd := model.TreeNode{Feature: feature[i], Cover: at(internalCount, i), Value: at(internalValue, i)}
		if splitGain != nil {
			nd.Gain = splitGain[i]
		}
		if nd.Left, err = child(left[i]); err != nil {
			return nil, 0, fmt.Errorf("node %d: %w", i, err)
		}
		if nd.Right, err = child(right[i]); err != nil {
			return nil, 0, fmt.Errorf("node %d: %w", i, err)
		}
		if feature[i] < 0 || feature[i] >= len(m.FeatureNames) {
			return nil, 0, fmt.Errorf("node %d: split feature %d out of range (%d features)", i, feature[i], len(m.FeatureNames))
		}
		dt := decision[i]
		if dt < 0 || dt > 15 {
			return nil, 0, fmt.Errorf("node %d: decision_type %d", i, dt)
		}
		nd.DefaultLeft = dt&2 != 0
		if dt&1 != 0 { // categorical
			k := threshold[i]
			if k != math.Trunc(k) || k < 0 || int(k) >= numCat {
				return nil, 0, fmt.Errorf("node %d: categorical split names bitset %v of %d", i, k, numCat)
			}
			words := catBits[catBounds[int(k)]:catBounds[int(k)+1]]
			nd.Categories = make([]uint32, len(words))
			for w, x := range words {
				nd.Categories[w] = uint32(x)
			}
		} else {
			nd.Threshold = threshold[i]
			switch dt >> 2 & 3 {
			case 0:
				nd.Missing = model.MissingNone
			case 1:
				nd.Missing = model.MissingZero
			case 2:
				nd.Missing = model.MissingNaN
			default:
				return nil, 0, fmt.Errorf("node %d: decision_type %d has unknown missing type 3", i, dt)
			}
		}
		tree[i] = nd
	}
	return tree, shrinkage, nil
}

func atoi(b map[string]string, key string) (int, error) {
	s, ok := b[key]
	if !ok {
		return 0, fmt.Errorf("%s is missing", key)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s is %q, want an integer", key, s)
	}
	return n, nil
}

func ints(b map[string]string, key string, n int) ([]int, error) {
	fields, err := fieldsOf(b, key, n)
	if err != nil {
		return nil, err
	}
	out := make([]int, n)
	for i, f := range fields {
		if out[i], err = strconv.Atoi(f); err != nil {
			return nil, fmt.Errorf("%s[%d] is %q, want an integer", key, i, f)
		}
	}
	return out, nil
}

func floats(b map[string]string, key string, n int) ([]float64, error) {
	fields, err := fieldsOf(b, key, n)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for i, f := range fields {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s[%d] is %q, want a finite number", key, i, f)
		}
		out[i] = x
	}
	return out, nil
}

// optionalFloats is floats for a line that may be absent (nil then).
func optionalFloats(b map[string]string, key string, n int) ([]float64, error) {
	if _, ok := b[key]; !ok {
		return nil, nil
	}
	return floats(b, key, n)
}

func fieldsOf(b map[string]string, key string, n int) ([]string, error) {
	s, ok := b[key]
	if !ok {
		return nil, fmt.Errorf("%s is missing", key)
	}
	fields := strings.Fields(s)
	if len(fields) != n {
		return nil, fmt.Errorf("%s has %d values, want %d", key, len(fields), n)
	}
	return fields, nil
}

func at(a []float64, i int) float64 {
	if a == nil || a[i] < 0 {
		return 0
	}
	return a[i]
}
