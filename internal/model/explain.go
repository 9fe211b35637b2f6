package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// ErrNoCovers is wrapped by the error of Explain when a tree member has a split node whose
// cover is zero (a model imported or built without covers): path-dependent TreeSHAP weighs
// the paths a row does not take by the training data that took them, and without covers
// there is nothing to weigh them by.
var ErrNoCovers = errors.New("a tree has no node covers, which exact explanations need")

// Explanation attributes a margin (log-odds) to the transaction's features:
//
//	BaseValue + Σ_j Contributions[j] = Margin
//
// up to floating-point rounding (see Model.Explain and TreeEnsemble.Explain for how close).
type Explanation struct {
	// BaseValue is the margin expected when no feature is known (see Model.Explain).
	BaseValue float64
	// Margin is the margin scoring gives the row: Model.Margin or the member's Margin.
	Margin float64
	// Contributions are the SHAP values of the transaction features, in fraud.FeatureNames
	// order, in log-odds.
	Contributions [fraud.NumFeatures]float64
}

// Explainer is a Member that can attribute its margin to the features.
type Explainer interface {
	Explain(x *[fraud.NumFeatures]float64, dst *Explanation) error
}

var (
	_ Explainer = (*TreeEnsemble)(nil)
	_ Explainer = (*Logreg)(nil)
)

// Explain sets dst to the exact SHAP values of the model's margin for x.
//
// Members blend in log-odds space (Margin is Bias + Σ weight_i · margin_i), and Shapley values
// are linear in the function explained, so the model's explanation is the members' blended
// the same way: Contributions = Σ weight_i · contributions_i and
// BaseValue = Bias + Σ weight_i · base_i. Each member's base is its own expected margin: a
// tree member's is the cover-weighted mean of its leaves (path-dependent TreeSHAP, see
// TreeEnsemble.Explain), a logistic regression's its margin at the training mean (see
// Logreg.Explain). BaseValue is therefore a margin, not the mean probability, and it is the
// same for every row.
//
// The calibration chosen at training (Platt scaling or stacking) is this blend itself, folded
// into Bias and the weights: no calibration sits after the margin, and Probability is
// Sigmoid(Margin). dst.Margin is Margin(x) bit for bit, and BaseValue plus the contributions
// equal it to within rounding (about 1e-12 for float64 members; see TreeEnsemble.Explain for
// ensembles summed in float32).
//
// The error wraps ErrNoCovers when a tree member has no covers, and errors.ErrUnsupported when
// a member cannot be explained. Explain does not allocate in the steady state.
func (m *Model) Explain(x *[fraud.NumFeatures]float64, dst *Explanation) error {
	*dst = Explanation{BaseValue: m.bias}
	var part Explanation
	for i, mem := range m.members {
		var err error
		// The known kinds are called directly, so that part stays on the stack.
		switch mem := mem.(type) {
		case *TreeEnsemble:
			err = mem.Explain(x, &part)
		case *Logreg:
			err = mem.Explain(x, &part)
		case Explainer:
			p := new(Explanation)
			err = mem.Explain(x, p)
			part = *p
		default:
			err = fmt.Errorf("%T: %w", mem, errors.ErrUnsupported)
		}
		if err != nil {
			return fmt.Errorf("explain member %s: %w", m.Manifest.Members[i].File, err)
		}
		w := m.weights[i]
		dst.BaseValue += w * part.BaseValue
		for j, c := range part.Contributions {
			dst.Contributions[j] += w * c
		}
	}
	dst.Margin = m.Margin(x)
	return nil
}

// Explain sets dst to the linear SHAP values of the member's margin for x, with the training
// data's mean as the background: the member standardises x to x' = (x − Mean) / Scale, whose
// training mean is 0, so the contribution of feature j is Coef[j] · x'[j], attributed to the raw
// feature j, and BaseValue is Intercept, the margin at the training mean. Mean is the mean of
// the rows the member was fitted on (the trainer standardises with it), and every member file
// holds it. Explain never fails.
func (l *Logreg) Explain(x *[fraud.NumFeatures]float64, dst *Explanation) error {
	dst.BaseValue = l.Intercept
	dst.Margin = l.Margin(x)
	for j := range x {
		dst.Contributions[j] = l.Coef[j] * ((x[j] - l.Mean[j]) / l.Scale[j])
	}
	return nil
}

// TopFeatures sets idx to the feature indices ordered by |contribution|, largest first, ties in
// feature order (a stable insertion sort: 30 entries, no allocation), and returns the first k.
// Every list of an explanation's leading features (the API's explanations, score's reasons)
// is cut from this order.
func TopFeatures(c *[fraud.NumFeatures]float64, k int, idx *[fraud.NumFeatures]int) []int {
	for i := range idx {
		idx[i] = i
		for j := i; j > 0 && math.Abs(c[idx[j-1]]) < math.Abs(c[idx[j]]); j-- {
			idx[j-1], idx[j] = idx[j], idx[j-1]
		}
	}
	return idx[:k]
}
