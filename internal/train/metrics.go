package train

import (
	"cmp"
	"math"
	"slices"

	"github.com/fraudguard/fraudguard/internal/model"
)

// The metric functions take scores (higher means more likely fraud), labels (1 fraud, 0
// normal) and optional per-row weights (nil means every row weighs 1). Rows with equal scores
// are one threshold step: they are flagged together or not at all. A figure that needs both
// classes is NaN when one is absent.

// curve is the operating points of a scored set: for each distinct score, from the highest
// down, the weight of frauds (tp) and normals (fp) scoring at least that much.
type curve struct {
	thresholds []float64
	tp, fp     []float64
	pos, neg   float64
}

func newCurve(scores []float64, labels []uint8, weights []float64) curve {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	var c curve
	var tp, fp float64
	for k, i := range idx {
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		if labels[i] == 1 {
			tp += w
		} else {
			fp += w
		}
		if k+1 == len(idx) || scores[idx[k+1]] != scores[i] {
			c.thresholds = append(c.thresholds, scores[i])
			c.tp = append(c.tp, tp)
			c.fp = append(c.fp, fp)
		}
	}
	c.pos, c.neg = tp, fp
	return c
}

func (c *curve) rocAUC() float64 {
	if c.pos == 0 || c.neg == 0 {
		return math.NaN()
	}
	// The trapezoid rule over the steps counts a tied fraud/normal pair as one half.
	var area, prevTP, prevFP float64
	for k := range c.tp {
		area += (c.fp[k] - prevFP) * (c.tp[k] + prevTP) / 2
		prevTP, prevFP = c.tp[k], c.fp[k]
	}
	return area / (c.pos * c.neg)
}

func (c *curve) averagePrecision() float64 {
	if c.pos == 0 {
		return math.NaN()
	}
	var ap, prevTP float64
	for k := range c.tp {
		if c.tp[k] > prevTP {
			ap += (c.tp[k] - prevTP) / c.pos * c.tp[k] / (c.tp[k] + c.fp[k])
		}
		prevTP = c.tp[k]
	}
	return ap
}

func (c *curve) recallAtFPR(maxFPR float64) float64 {
	if c.pos == 0 || c.neg == 0 {
		return math.NaN()
	}
	best := 0.0
	for k := range c.tp {
		if c.fp[k]/c.neg > maxFPR {
			break // fp only grows down the curve
		}
		best = c.tp[k] / c.pos
	}
	return best
}

// bestF1 returns the threshold with the highest F1; among equal F1 the highest threshold wins.
func (c *curve) bestF1() (threshold, f1 float64) {
	threshold = math.Inf(1)
	for k := range c.tp {
		// F1 = 2TP / (2TP + FP + FN), with FN = pos − TP.
		d := c.tp[k] + c.fp[k] + c.pos
		if d == 0 {
			continue
		}
		if v := 2 * c.tp[k] / d; v > f1 {
			threshold, f1 = c.thresholds[k], v
		}
	}
	if math.IsInf(threshold, 1) && len(c.thresholds) > 0 {
		threshold = c.thresholds[0] // no fraud at all: flag as little as possible
	}
	return threshold, f1
}

// ROCAUC returns the weighted area under the ROC curve; a tied fraud/normal pair counts 1/2.
func ROCAUC(scores []float64, labels []uint8, weights []float64) float64 {
	c := newCurve(scores, labels, weights)
	return c.rocAUC()
}

// AveragePrecision returns the weighted average precision (the area under the precision-recall
// curve as a step function): Σ_k (R_k − R_{k−1}) · P_k over the distinct scores from the
// highest down, without interpolation.
func AveragePrecision(scores []float64, labels []uint8, weights []float64) float64 {
	c := newCurve(scores, labels, weights)
	return c.averagePrecision()
}

// RecallAtFPR returns the highest recall among the thresholds whose false-positive rate is at
// most maxFPR (0 when even the highest score exceeds it).
func RecallAtFPR(scores []float64, labels []uint8, weights []float64, maxFPR float64) float64 {
	c := newCurve(scores, labels, weights)
	return c.recallAtFPR(maxFPR)
}

// BestF1Threshold returns the threshold t (a row is flagged when its score is >= t) that
// maximises the weighted F1, and that F1. Candidates are the distinct scores; among equal F1
// the higher threshold wins, flagging fewer rows.
func BestF1Threshold(scores []float64, labels []uint8, weights []float64) (threshold, f1 float64) {
	c := newCurve(scores, labels, weights)
	return c.bestF1()
}

// Evaluate returns the figures of a scored set at threshold t (flagged when score >= t).
// Confusion counts and every rate are weighted; Rows and Frauds are not.
func Evaluate(scores []float64, labels []uint8, weights []float64, t float64) model.Metrics {
	c := newCurve(scores, labels, weights)
	m := model.Metrics{
		Rows:            len(scores),
		ROCAUC:          c.rocAUC(),
		AUPRC:           c.averagePrecision(),
		RecallAt1PctFPR: c.recallAtFPR(0.01),
	}
	for i, y := range labels {
		m.Frauds += int(y)
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		flagged := scores[i] >= t
		switch {
		case y == 1 && flagged:
			m.Confusion.TP += w
		case y == 1:
			m.Confusion.FN += w
		case flagged:
			m.Confusion.FP += w
		default:
			m.Confusion.TN += w
		}
	}
	cm := m.Confusion
	if cm.TP+cm.FP > 0 {
		m.Precision = cm.TP / (cm.TP + cm.FP)
	}
	if cm.TP+cm.FN > 0 {
		m.Recall = cm.TP / (cm.TP + cm.FN)
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	return m
}
