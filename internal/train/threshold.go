package train

import (
	"fmt"
	"math"
)

// ThresholdMetric names the figure a decision threshold is chosen to optimise.
type ThresholdMetric string

// The threshold metrics.
const (
	// ThresholdF1 maximises the weighted F1: precision and recall count alike.
	ThresholdF1 ThresholdMetric = "f1"
	// ThresholdF2 maximises the weighted F2, which counts recall four times as much as
	// precision (F-beta with beta 2): a missed fraud matters more than a false alarm.
	ThresholdF2 ThresholdMetric = "f2"
	// ThresholdCost minimises the expected cost CostFN·FN + CostFP·FP of the weighted
	// confusion matrix.
	ThresholdCost ThresholdMetric = "cost"
)

// Defaults of ThresholdRule.
const (
	DefaultThresholdMetric = ThresholdF1
	// DefaultCostFN is the cost of a missed fraud, relative to DefaultCostFP for a false
	// alarm: a fraud costs about its amount plus handling, an alarm a customer's call.
	DefaultCostFN = 100
	DefaultCostFP = 1
)

// ThresholdMetrics returns the metrics ChooseThreshold knows, in the order to list them.
func ThresholdMetrics() []ThresholdMetric {
	return []ThresholdMetric{ThresholdF1, ThresholdF2, ThresholdCost}
}

// ThresholdRule says how a decision threshold is chosen. The zero value is
// DefaultThresholdRule.
type ThresholdRule struct {
	// Metric is the figure to optimise; "" means DefaultThresholdMetric.
	Metric ThresholdMetric
	// CostFN and CostFP are the costs of a missed fraud and of a false alarm under
	// ThresholdCost; zero means DefaultCostFN and DefaultCostFP. Other metrics ignore them.
	CostFN, CostFP float64
}

// DefaultThresholdRule returns the rule used when none is given: the best F1.
func DefaultThresholdRule() ThresholdRule {
	return ThresholdRule{Metric: DefaultThresholdMetric, CostFN: DefaultCostFN, CostFP: DefaultCostFP}
}

func (r ThresholdRule) withDefaults() (ThresholdRule, error) {
	if r.Metric == "" {
		r.Metric = DefaultThresholdMetric
	}
	if r.CostFN == 0 {
		r.CostFN = DefaultCostFN
	}
	if r.CostFP == 0 {
		r.CostFP = DefaultCostFP
	}
	switch r.Metric {
	case ThresholdF1, ThresholdF2, ThresholdCost:
	default:
		return r, fmt.Errorf("threshold metric %q is not one of f1, f2, cost", r.Metric)
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"false-negative", r.CostFN}, {"false-positive", r.CostFP}} {
		if !(c.v > 0) || math.IsInf(c.v, 0) {
			return r, fmt.Errorf("%s cost %v must be a finite number > 0", c.name, c.v)
		}
	}
	return r, nil
}

// String describes the rule for the manifest.
func (r ThresholdRule) String() string {
	switch r.Metric {
	case ThresholdF2:
		return "max weighted F2 (recall counts 4x precision), ties to the higher threshold"
	case ThresholdCost:
		return fmt.Sprintf("min expected weighted cost %g·FN + %g·FP, ties to the higher threshold", r.CostFN, r.CostFP)
	default:
		return "max weighted F1, ties to the higher threshold"
	}
}

// ChooseThreshold returns the threshold t (a row is flagged when its score is >= t) that is best
// under rule on the scored rows, and the rule's figure there: the F1 or F2, or for
// ThresholdCost the expected cost per unit of weight (per transaction when weights count
// transactions). Candidates are the distinct scores and, for ThresholdCost, flagging nothing
// (t just above the highest score, at most 1). Among equally good thresholds the highest wins:
// it flags the fewest rows. With no fraud at all the F rules flag as little as possible.
func ChooseThreshold(scores []float64, labels []uint8, weights []float64, rule ThresholdRule) (threshold, value float64, err error) {
	rule, err = rule.withDefaults()
	if err != nil {
		return 0, 0, err
	}
	if len(scores) == 0 {
		return 0, 0, fmt.Errorf("choose threshold: no rows")
	}
	c := newCurve(scores, labels, weights)
	switch rule.Metric {
	case ThresholdF2:
		threshold, value = c.bestFBeta(2)
	case ThresholdCost:
		threshold, value = c.minCost(rule.CostFN, rule.CostFP)
	default:
		threshold, value = c.bestFBeta(1)
	}
	return threshold, value, nil
}

// bestFBeta returns the threshold with the highest F-beta,
// (1+β²)·TP / ((1+β²)·TP + β²·FN + FP); among equal values the highest threshold wins.
func (c *curve) bestFBeta(beta float64) (threshold, f float64) {
	b2 := beta * beta
	threshold = math.Inf(1)
	for k := range c.tp {
		d := (1+b2)*c.tp[k] + b2*(c.pos-c.tp[k]) + c.fp[k]
		if d == 0 {
			continue
		}
		if v := (1 + b2) * c.tp[k] / d; v > f {
			threshold, f = c.thresholds[k], v
		}
	}
	if math.IsInf(threshold, 1) && len(c.thresholds) > 0 {
		threshold = c.thresholds[0]
	}
	return threshold, f
}

// minCost returns the threshold with the least expected cost per unit of weight; flagging
// nothing is a candidate too, at a threshold just above the highest score.
func (c *curve) minCost(costFN, costFP float64) (threshold, cost float64) {
	total := c.pos + c.neg
	best := costFN * c.pos // flag nothing
	threshold = 1
	if len(c.thresholds) > 0 {
		threshold = min(math.Nextafter(c.thresholds[0], math.Inf(1)), 1)
	}
	for k := range c.tp {
		if v := costFN*(c.pos-c.tp[k]) + costFP*c.fp[k]; v < best {
			threshold, best = c.thresholds[k], v
		}
	}
	if total == 0 {
		return threshold, 0
	}
	return threshold, best / total
}
