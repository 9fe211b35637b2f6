// Package xgboost imports XGBoost models saved with Booster.save_model, as JSON or UBJSON
// (XGBoost 1.x to 3.x), into tree ensembles of package model.
//
// Only binary:logistic models of the gbtree and dart boosters are taken. The ensemble
// reproduces XGBoost's prediction: splits compare float32(x) < float32(threshold), a missing
// value (NaN) follows the node's default direction, DART trees are scaled by their
// weight_drop, the margin starts at logit(base_score), and it is summed in float32 tree by
// tree, so that it equals XGBoost's output_margin bit for bit. Every tree is used, whatever
// best_iteration the file records. Numbers may be written as strings, as XGBoost writes its
// parameters, and base_score as "5E-1" (1.x, 2.x) or "[5E-1]" (3.x).
package xgboost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/fraudguard/fraudguard/internal/model"
)

// Options says how an imported model's features map onto the transaction's.
type Options struct {
	// Positional maps a model of exactly 30 unnamed features (no feature_names, or f0..f29)
	// onto Time, V1..V28, Amount by position. Named features always map by name.
	Positional bool
	// BestIteration keeps only the trees of the boosting rounds up to and including the
	// best_iteration the file records (learner.attributes, set by early stopping). A file
	// that records none is an error.
	BestIteration bool
}

// Model is a parsed XGBoost model, its trees still over the model's own features.
type Model struct {
	// Version is the XGBoost version that saved the model.
	Version [3]int
	// Objective is the learning objective, "binary:logistic".
	Objective string
	// Booster is "gbtree" or "dart".
	Booster string
	// BaseScore is the global bias as a probability; the margin starts at its logit.
	BaseScore float64
	// NumFeatures is the number of features the model was trained on.
	NumFeatures int
	// FeatureNames are the model's feature names, nil when the file has none.
	FeatureNames []string
	// Trees are the model's trees; a node's Feature indexes the model's features, Cover is
	// XGBoost's sum_hessian and Gain its loss_changes.
	Trees [][]model.TreeNode
	// TreeWeights are DART's weight_drop, one per tree; nil for gbtree.
	TreeWeights []float64
	// BestIteration is the 0-based boosting round early stopping found best, -1 when the
	// file records none.
	BestIteration int
	// RoundEnds[i] is the number of trees in rounds 0..i: from iteration_indptr when the file
	// has it (XGBoost 2.x and later), else from num_parallel_tree trees a round.
	RoundEnds []int
}

// KeepBestIteration drops the trees of the rounds after BestIteration.
func (m *Model) KeepBestIteration() error {
	if m.BestIteration < 0 {
		return errors.New("the file records no best_iteration (the model was not trained with early stopping)")
	}
	if m.BestIteration >= len(m.RoundEnds) {
		return fmt.Errorf("best_iteration %d is past the model's %d boosting rounds", m.BestIteration, len(m.RoundEnds))
	}
	n := m.RoundEnds[m.BestIteration]
	m.Trees = m.Trees[:n]
	if m.TreeWeights != nil {
		m.TreeWeights = m.TreeWeights[:n]
	}
	return nil
}

// Import parses an XGBoost model (see Parse) and builds its ensemble over the transaction
// features (see Model.Ensemble).
func Import(data []byte, opts Options) (*Model, *model.TreeEnsemble, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, nil, err
	}
	if opts.BestIteration {
		if err := m.KeepBestIteration(); err != nil {
			return nil, nil, fmt.Errorf("xgboost: %w", err)
		}
	}
	fm, err := m.FeatureMap(opts.Positional)
	if err != nil {
		return nil, nil, fmt.Errorf("xgboost: %w", err)
	}
	e, err := m.Ensemble(fm)
	if err != nil {
		return nil, nil, err
	}
	return m, e, nil
}

// FeatureMap maps the model's features onto the transaction's: by name, or by position when
// they are unnamed and positional is set (see model.MapFeatures).
func (m *Model) FeatureMap(positional bool) ([]int, error) {
	return model.MapFeatures(m.FeatureNames, m.NumFeatures, positional, func(i int, name string) bool {
		return name == "f"+strconv.Itoa(i)
	})
}

// Ensemble builds the model's tree ensemble, reading model feature j from transaction feature
// featureMap[j].
func (m *Model) Ensemble(featureMap []int) (*model.TreeEnsemble, error) {
	e, err := model.NewTreeEnsemble(m.Trees, model.TreeOptions{
		BaseMargin:   baseMargin(m.BaseScore),
		TreeWeights:  m.TreeWeights,
		Float32:      true,
		Float32Sum:   true,
		FeatureMap:   featureMap,
		FeatureNames: m.FeatureNames,
		Source:       fmt.Sprintf("xgboost %d.%d.%d %s %s", m.Version[0], m.Version[1], m.Version[2], m.Booster, m.Objective),
	})
	if err != nil {
		return nil, fmt.Errorf("xgboost: %w", err)
	}
	return e, nil
}

// baseMargin is logit(p) as XGBoost computes it, in float32: -log(1/p - 1).
func baseMargin(p float64) float64 {
	q := float32(1)/float32(p) - float32(1)
	return float64(-float32(math.Log(float64(q))))
}

// Parse reads an XGBoost model saved as JSON or UBJSON; it tells them apart by their second
// byte. It fails, naming what is wrong, on a truncated or malformed file, an XGBoost version
// other than 1.x to 3.x, an objective other than binary:logistic, a booster other than gbtree
// and dart, multi-output or categorical trees, and inconsistent trees.
func Parse(data []byte) (*Model, error) {
	v, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("xgboost: %w", err)
	}
	m, err := fromValue(v)
	if err != nil {
		return nil, fmt.Errorf("xgboost: %w", err)
	}
	return m, nil
}

func decode(data []byte) (any, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty file")
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("not an XGBoost model: starts with %q, want a JSON or UBJSON object", trimmed[0])
	}
	if len(trimmed) > 1 && strings.IndexByte("iUIlL$#N", trimmed[1]) >= 0 {
		return decodeUBJSON(trimmed)
	}
	return decodeJSON(trimmed)
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("json: truncated: the data ends inside a value")
		}
		return nil, fmt.Errorf("json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("json: data after the model object")
	}
	return v, nil
}

// The versions of XGBoost whose model format this package reads.
const (
	minMajor = 1
	maxMajor = 3
)

func fromValue(v any) (*Model, error) {
	root, err := asObject(v, "the file")
	if err != nil {
		return nil, err
	}
	var m Model
	if err := m.parseVersion(root); err != nil {
		return nil, err
	}
	learner, err := objectField(root, "learner", "")
	if err != nil {
		return nil, err
	}
	if err := m.parseLearner(learner); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Model) parseVersion(root map[string]any) error {
	raw, ok := root["version"]
	if !ok {
		return errors.New("no version field: not an XGBoost model saved by save_model (1.0 or later)")
	}
	ver, err := asInts(raw, "version")
	if err != nil || len(ver) != 3 {
		return fmt.Errorf("version is %v, want [major, minor, patch]", raw)
	}
	for i, x := range ver {
		if x < 0 || x > 1<<20 {
			return fmt.Errorf("version is %v, want [major, minor, patch]", raw)
		}
		m.Version[i] = int(x)
	}
	if m.Version[0] < minMajor || m.Version[0] > maxMajor {
		return fmt.Errorf("XGBoost version %d.%d.%d is not supported (this build reads %d.x to %d.x)",
			m.Version[0], m.Version[1], m.Version[2], minMajor, maxMajor)
	}
	return nil
}

func (m *Model) parseLearner(learner map[string]any) error {
	obj, err := objectField(learner, "objective", "learner")
	if err != nil {
		return err
	}
	name, err := stringField(obj, "name", "learner.objective")
	if err != nil {
		return err
	}
	m.Objective = name
	if name != "binary:logistic" {
		return fmt.Errorf("objective %q is not supported: only binary:logistic (a probability of fraud) is", name)
	}

	param, err := objectField(learner, "learner_model_param", "learner")
	if err != nil {
		return err
	}
	for _, key := range []string{"num_class", "num_target"} {
		if raw, ok := param[key]; ok {
			n, err := asInt(raw, "learner.learner_model_param."+key)
			if err != nil {
				return err
			}
			if n > 1 {
				return fmt.Errorf("learner_model_param.%s is %d: only single-output binary models are supported", key, n)
			}
		}
	}
	nf, err := intField(param, "num_feature", "learner.learner_model_param")
	if err != nil {
		return err
	}
	if nf < 1 || nf > 1<<20 {
		return fmt.Errorf("learner_model_param.num_feature is %d", nf)
	}
	m.NumFeatures = int(nf)
	raw, ok := param["base_score"]
	if !ok {
		return errors.New("learner.learner_model_param.base_score is missing")
	}
	if m.BaseScore, err = baseScore(raw); err != nil {
		return err
	}

	m.BestIteration = -1
	if raw, ok := learner["attributes"]; ok {
		attrs, err := asObject(raw, "learner.attributes")
		if err != nil {
			return err
		}
		if raw, ok := attrs["best_iteration"]; ok {
			n, err := asInt(raw, "learner.attributes.best_iteration")
			if err != nil {
				return err
			}
			if n < 0 {
				return fmt.Errorf("learner.attributes.best_iteration is %d", n)
			}
			m.BestIteration = int(n)
		}
	}

	if raw, ok := learner["feature_names"]; ok {
		names, err := asStrings(raw, "learner.feature_names")
		if err != nil {
			return err
		}
		if len(names) > 0 {
			m.FeatureNames = names
		}
	}

	booster, err := objectField(learner, "gradient_booster", "learner")
	if err != nil {
		return err
	}
	if m.Booster, err = stringField(booster, "name", "learner.gradient_booster"); err != nil {
		return err
	}
	var gbtree map[string]any
	switch m.Booster {
	case "gbtree":
		gbtree = booster
	case "dart":
		if gbtree, err = objectField(booster, "gbtree", "learner.gradient_booster"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("booster %q is not supported: only gbtree and dart (tree boosters) are", m.Booster)
	}
	gbModel, err := objectField(gbtree, "model", "gradient_booster")
	if err != nil {
		return err
	}
	if err := m.parseTrees(gbModel); err != nil {
		return err
	}
	if m.Booster == "dart" {
		raw, ok := booster["weight_drop"]
		if !ok {
			return errors.New("dart booster without weight_drop")
		}
		w, err := asFloat32s(raw, "learner.gradient_booster.weight_drop")
		if err != nil {
			return err
		}
		if len(w) != len(m.Trees) {
			return fmt.Errorf("dart booster has %d weights in weight_drop for %d trees", len(w), len(m.Trees))
		}
		m.TreeWeights = make([]float64, len(w))
		for i, x := range w {
			m.TreeWeights[i] = float64(x)
		}
	}
	return nil
}

// baseScore reads base_score, a probability written as a number or a string, possibly in
// brackets ("[5E-1]", XGBoost 3.x's vector form with one element).
func baseScore(raw any) (float64, error) {
	s, isString := raw.(string)
	if isString {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			parts := strings.Split(strings.TrimSpace(s[1:len(s)-1]), ",")
			if len(parts) != 1 {
				return 0, fmt.Errorf("base_score %q has %d values: only single-output models are supported", s, len(parts))
			}
			s = strings.TrimSpace(parts[0])
		}
		raw = s
	}
	p, err := asFloat32(raw, "learner.learner_model_param.base_score")
	if err != nil {
		return 0, err
	}
	if !(p > 0 && p < 1) {
		return 0, fmt.Errorf("base_score %v is not a probability strictly between 0 and 1, as binary:logistic needs", p)
	}
	return float64(p), nil
}

func (m *Model) parseTrees(gb map[string]any) error {
	rawTrees, ok := gb["trees"]
	if !ok {
		return errors.New("gradient_booster.model.trees is missing")
	}
	trees, ok := rawTrees.([]any)
	if !ok {
		return fmt.Errorf("gradient_booster.model.trees is %T, want an array", rawTrees)
	}
	perRound := int64(1)
	if raw, ok := gb["gbtree_model_param"]; ok {
		param, err := asObject(raw, "gbtree_model_param")
		if err != nil {
			return err
		}
		if raw, ok := param["num_trees"]; ok {
			n, err := asInt(raw, "gbtree_model_param.num_trees")
			if err != nil {
				return err
			}
			if n != int64(len(trees)) {
				return fmt.Errorf("gbtree_model_param.num_trees is %d but the file holds %d trees (truncated?)", n, len(trees))
			}
		}
		if raw, ok := param["size_leaf_vector"]; ok {
			if n, err := asInt(raw, "gbtree_model_param.size_leaf_vector"); err != nil {
				return err
			} else if n > 1 {
				return fmt.Errorf("size_leaf_vector is %d: multi-output trees are not supported", n)
			}
		}
		if raw, ok := param["num_parallel_tree"]; ok {
			n, err := asInt(raw, "gbtree_model_param.num_parallel_tree")
			if err != nil {
				return err
			}
			if n < 1 || len(trees)%int(n) != 0 {
				return fmt.Errorf("gbtree_model_param.num_parallel_tree is %d for %d trees", n, len(trees))
			}
			perRound = n
		}
	}
	m.RoundEnds = nil
	if raw, ok := gb["iteration_indptr"]; ok {
		ptr, err := asInts(raw, "iteration_indptr")
		if err != nil {
			return err
		}
		if len(ptr) == 0 || ptr[0] != 0 || ptr[len(ptr)-1] != int64(len(trees)) {
			return fmt.Errorf("iteration_indptr %v does not span the %d trees", ptr, len(trees))
		}
		for i := 1; i < len(ptr); i++ {
			if ptr[i] < ptr[i-1] {
				return fmt.Errorf("iteration_indptr %v is not in order", ptr)
			}
			m.RoundEnds = append(m.RoundEnds, int(ptr[i]))
		}
	} else {
		for n := perRound; n <= int64(len(trees)); n += perRound {
			m.RoundEnds = append(m.RoundEnds, int(n))
		}
	}
	if raw, ok := gb["tree_info"]; ok {
		info, err := asInts(raw, "tree_info")
		if err != nil {
			return err
		}
		for i, g := range info {
			if g != 0 {
				return fmt.Errorf("tree %d belongs to output group %d: only single-output models are supported", i, g)
			}
		}
	}
	m.Trees = make([][]model.TreeNode, len(trees))
	for t, raw := range trees {
		obj, err := asObject(raw, fmt.Sprintf("tree %d", t))
		if err != nil {
			return err
		}
		tree, err := m.parseTree(obj)
		if err != nil {
			return fmt.Errorf("tree %d: %w", t, err)
		}
		m.Trees[t] = tree
	}
	return nil
}

func (m *Model) parseTree(obj map[string]any) ([]model.TreeNode, error) {
	param, err := objectField(obj, "tree_param", "")
	if err != nil {
		return nil, err
	}
	n, err := intField(param, "num_nodes", "tree_param")
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 1<<24 {
		return nil, fmt.Errorf("tree_param.num_nodes is %d", n)
	}
	if raw, ok := param["size_leaf_vector"]; ok {
		if k, err := asInt(raw, "tree_param.size_leaf_vector"); err != nil {
			return nil, err
		} else if k > 1 {
			return nil, fmt.Errorf("size_leaf_vector is %d: multi-output trees are not supported", k)
		}
	}
	ints := func(key string) ([]int64, error) {
		raw, ok := obj[key]
		if !ok {
			return nil, fmt.Errorf("%s is missing", key)
		}
		a, err := asInts(raw, key)
		if err == nil && int64(len(a)) != n {
			err = fmt.Errorf("%s has %d entries for %d nodes", key, len(a), n)
		}
		return a, err
	}
	floats := func(key string) ([]float32, error) {
		raw, ok := obj[key]
		if !ok {
			return nil, fmt.Errorf("%s is missing", key)
		}
		a, err := asFloat32s(raw, key)
		if err == nil && int64(len(a)) != n {
			err = fmt.Errorf("%s has %d entries for %d nodes", key, len(a), n)
		}
		return a, err
	}
	left, err := ints("left_children")
	if err != nil {
		return nil, err
	}
	right, err := ints("right_children")
	if err != nil {
		return nil, err
	}
	feature, err := ints("split_indices")
	if err != nil {
		return nil, err
	}
	cond, err := floats("split_conditions")
	if err != nil {
		return nil, err
	}
	defaultLeft, err := ints("default_left")
	if err != nil {
		return nil, err
	}
	hess, err := floats("sum_hessian")
	if err != nil {
		return nil, err
	}
	// loss_changes is every split's gain; XGBoost always writes it, hand-made files may not.
	var lossChg []float32
	if _, ok := obj["loss_changes"]; ok {
		if lossChg, err = floats("loss_changes"); err != nil {
			return nil, err
		}
	}
	var splitType []int64
	if _, ok := obj["split_type"]; ok {
		if splitType, err = ints("split_type"); err != nil {
			return nil, err
		}
	}

	// XGBoost may keep deleted (pruned) nodes in the arrays: keep the nodes reachable from the
	// root, in their order, so that node ids stay XGBoost's when none was deleted.
	reach := make([]bool, n)
	reach[0] = true
	stack := []int64{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if left[i] == -1 {
			continue
		}
		for _, c := range []int64{left[i], right[i]} {
			if c <= 0 || c >= n || reach[c] {
				return nil, fmt.Errorf("node %d: child %d is out of range or reached twice", i, c)
			}
			reach[c] = true
			stack = append(stack, c)
		}
	}
	id := make([]int32, n)
	kept := int32(0)
	for i := range reach {
		if reach[i] {
			id[i] = kept
			kept++
		}
	}
	tree := make([]model.TreeNode, 0, kept)
	for i := range n {
		if !reach[i] {
			continue
		}
		nd := model.TreeNode{Cover: float64(hess[i])}
		if left[i] == -1 {
			nd.IsLeaf = true
			nd.Value = float64(cond[i])
			tree = append(tree, nd)
			continue
		}
		if splitType != nil && splitType[i] != 0 {
			return nil, fmt.Errorf("node %d: categorical split on %s: categorical splits are not supported", i, m.featureName(feature[i]))
		}
		if feature[i] < 0 || feature[i] >= int64(m.NumFeatures) {
			return nil, fmt.Errorf("node %d: split feature %d out of range (num_feature %d)", i, feature[i], m.NumFeatures)
		}
		nd.Feature = int(feature[i])
		nd.Threshold = float64(cond[i])
		if lossChg != nil {
			nd.Gain = float64(lossChg[i])
		}
		nd.Left, nd.Right = id[left[i]], id[right[i]]
		nd.DefaultLeft = defaultLeft[i] != 0
		tree = append(tree, nd)
	}
	return tree, nil
}

func (m *Model) featureName(j int64) string {
	if j >= 0 && j < int64(len(m.FeatureNames)) {
		return strconv.Quote(m.FeatureNames[j])
	}
	return "feature " + strconv.FormatInt(j, 10)
}
