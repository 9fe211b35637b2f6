// Package report evaluates a model on a labelled file and writes the evaluation as one
// self-contained HTML page: ROC and precision-recall curves, the confusion matrix at the
// threshold, the score distributions of both classes, a threshold table, a calibration plot
// and feature importance, the plots as inline SVG. Every figure is computed from the rows
// given, so a bundle with no training figures (an imported one) gets a full report.
package report

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/train"
)

// Evaluation is what a scored, labelled set of rows says of the model that scored it. Every
// rate and count in it is weighted (a normal row of a downsampled file stands for the real
// normal transactions it was drawn from), except Rows, Frauds and the Flagged counts.
type Evaluation struct {
	// Rows and Frauds count the rows, unweighted.
	Rows, Frauds int
	// FraudWeight and NormalWeight are each class's total weight.
	FraudWeight, NormalWeight float64
	// Threshold is the model's decision threshold: a row is flagged when its score is at
	// least Threshold.
	Threshold float64
	// Metrics are the figures at Threshold, computed as training computes them
	// (train.Evaluate): ROC-AUC, average precision, recall at 1% false-positive rate, the
	// weighted confusion matrix, precision, recall and F1.
	Metrics model.Metrics
	// Flagged is the unweighted confusion matrix at Threshold: rows, not transactions.
	Flagged model.Confusion
	// AlertsPer10k is how many of 10,000 transactions are flagged at Threshold.
	AlertsPer10k float64
	// Brier is the weighted mean squared difference between score and label; LogLoss the
	// weighted mean negative log-likelihood (scores clamped to [1e-15, 1-1e-15]).
	Brier, LogLoss float64
	// ROC holds the curve's points (false-positive rate, true-positive rate) from (0, 0) to
	// (1, 1), one per distinct score, thinned to at most about 1,000 points for drawing.
	ROC []Point
	// PR holds the precision-recall curve's points (recall, precision), one per distinct
	// score from the highest down, thinned likewise.
	PR []Point
	// Thresholds are the figures at a fixed ladder of thresholds and at Threshold, ascending.
	Thresholds []ThresholdRow
	// Distribution is the share of each class's weight in each score bin (see
	// DistributionBins).
	Distribution []Bin
	// Calibration compares, bin by bin of predicted probability, the mean prediction with the
	// observed fraud rate; empty bins are left out.
	Calibration []CalibrationBin
}

// Point is a point of a curve.
type Point struct{ X, Y float64 }

// ThresholdRow holds the figures at one threshold.
type ThresholdRow struct {
	Threshold float64
	// Model is true for the model's own threshold.
	Model bool
	// AlertsPer10k is how many of 10,000 transactions score at least Threshold.
	AlertsPer10k float64
	// Precision is NaN when nothing is flagged.
	Precision, Recall float64
	// FalseAlertsPer10k is how many of 10,000 transactions are normal and flagged.
	FalseAlertsPer10k float64
	// Flagged counts the rows flagged, unweighted.
	Flagged int
}

// Bin is a bin of the score distributions: scores whose log-odds lie in [Lo, Hi).
type Bin struct {
	Lo, Hi float64
	// Normal and Fraud are the shares of each class's weight that fall in the bin.
	Normal, Fraud float64
}

// CalibrationBin is a bin of predicted probabilities in [Lo, Hi).
type CalibrationBin struct {
	Lo, Hi float64
	// Rows counts the rows, unweighted; Weight weighs them.
	Rows   int
	Weight float64
	// Predicted is the weighted mean score, Observed the weighted fraud rate.
	Predicted, Observed float64
}

// thresholdLadder are the thresholds of the threshold table besides the model's own.
var thresholdLadder = []float64{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99}

// DistributionBins is the number of score-distribution bins: half a unit of log-odds each,
// from -12 to 12 (probabilities of about 6e-6 to 1-6e-6); scores beyond fall in the end bins.
// Fraud scores crowd near 0 and 1, where equal bins of probability would lump them together.
const DistributionBins = 48

const (
	distributionLo   = -12.0
	distributionStep = 0.5
)

// calibrationEdges bound the calibration bins; finer where fraud scores are rare.
var calibrationEdges = []float64{0, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.97, 0.99, 1}

// maxCurvePoints bounds the points kept of a curve: a point is kept when it moved more than
// 1/maxCurvePoints of an axis from the last kept one, so the drawing stays a few tens of KB on
// any number of rows while no visible step is lost.
const maxCurvePoints = 1000

// Evaluate computes the figures of scores (probabilities of fraud, one per row) against labels
// (1 fraud, 0 normal) with the rows' weights (nil: every row weighs 1), at threshold. It fails
// when the lengths differ, when there are no rows, when a score is not a probability or a
// weight not a finite number >= 0, or when either class has no weight: a report needs both.
func Evaluate(scores []float64, labels []uint8, weights []float64, threshold float64) (*Evaluation, error) {
	n := len(scores)
	if len(labels) != n || (weights != nil && len(weights) != n) {
		return nil, fmt.Errorf("evaluate: %d scores, %d labels and %d weights: want one of each per row", n, len(labels), len(weights))
	}
	if n == 0 {
		return nil, errors.New("evaluate: no rows")
	}
	if !(threshold >= 0 && threshold <= 1) {
		return nil, fmt.Errorf("evaluate: threshold %v is not between 0 and 1", threshold)
	}
	w := func(i int) float64 {
		if weights == nil {
			return 1
		}
		return weights[i]
	}
	e := &Evaluation{Rows: n, Threshold: threshold}
	for i, s := range scores {
		if !(s >= 0 && s <= 1) {
			return nil, fmt.Errorf("evaluate: row %d: score %v is not a probability", i, s)
		}
		if wi := w(i); !(wi >= 0) || math.IsInf(wi, 0) {
			return nil, fmt.Errorf("evaluate: row %d: weight %v is not a finite number >= 0", i, wi)
		}
		switch labels[i] {
		case 0:
			e.NormalWeight += w(i)
		case 1:
			e.Frauds++
			e.FraudWeight += w(i)
		default:
			return nil, fmt.Errorf("evaluate: row %d: label %d is neither 0 (normal) nor 1 (fraud)", i, labels[i])
		}
	}
	if !(e.FraudWeight > 0) || !(e.NormalWeight > 0) {
		return nil, fmt.Errorf("evaluate: frauds weigh %g and normal rows %g over %d rows (%d frauds): "+
			"a report needs both classes", e.FraudWeight, e.NormalWeight, n, e.Frauds)
	}
	total := e.FraudWeight + e.NormalWeight

	e.Metrics = train.Evaluate(scores, labels, weights, threshold)
	var brier, logLoss float64
	for i, s := range scores {
		y := float64(labels[i])
		brier += w(i) * (s - y) * (s - y)
		p := min(max(s, 1e-15), 1-1e-15)
		logLoss -= w(i) * (y*math.Log(p) + (1-y)*math.Log(1-p))
		if s >= threshold {
			if labels[i] == 1 {
				e.Flagged.TP++
			} else {
				e.Flagged.FP++
			}
		} else if labels[i] == 1 {
			e.Flagged.FN++
		} else {
			e.Flagged.TN++
		}
	}
	e.Brier, e.LogLoss = brier/total, logLoss/total
	c := e.Metrics.Confusion
	e.AlertsPer10k = 1e4 * (c.TP + c.FP) / total

	// Rows from the highest score down; equal scores are one step.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	var (
		tp, fp  float64
		flagged int
		roc     = []Point{{0, 0}}
		pr      []Point
		steps   []step
	)
	for k, i := range idx {
		if labels[i] == 1 {
			tp += w(i)
		} else {
			fp += w(i)
		}
		flagged++
		if k+1 < n && scores[idx[k+1]] == scores[i] {
			continue
		}
		steps = append(steps, step{score: scores[i], tp: tp, fp: fp, flagged: flagged})
		roc = append(roc, Point{fp / e.NormalWeight, tp / e.FraudWeight})
		if tp+fp > 0 {
			pr = append(pr, Point{tp / e.FraudWeight, tp / (tp + fp)})
		}
	}
	e.ROC, e.PR = thin(roc), thin(pr)

	ladder := append(slices.Clone(thresholdLadder), threshold)
	slices.Sort(ladder)
	ladder = slices.Compact(ladder)
	for _, t := range ladder {
		// The steps before the first one scoring below t are what t flags.
		k := firstBelow(steps, t)
		row := ThresholdRow{Threshold: t, Model: t == threshold, Precision: math.NaN()}
		if k > 0 {
			s := steps[k-1]
			row.AlertsPer10k = 1e4 * (s.tp + s.fp) / total
			row.FalseAlertsPer10k = 1e4 * s.fp / total
			row.Recall = s.tp / e.FraudWeight
			if s.tp+s.fp > 0 {
				row.Precision = s.tp / (s.tp + s.fp)
			}
			row.Flagged = s.flagged
		}
		e.Thresholds = append(e.Thresholds, row)
	}

	e.Distribution = make([]Bin, DistributionBins)
	for b := range e.Distribution {
		e.Distribution[b].Lo = distributionLo + float64(b)*distributionStep
		e.Distribution[b].Hi = e.Distribution[b].Lo + distributionStep
	}
	for i, s := range scores {
		b := int(math.Floor((logit(s) - distributionLo) / distributionStep))
		b = min(max(b, 0), DistributionBins-1)
		if labels[i] == 1 {
			e.Distribution[b].Fraud += w(i) / e.FraudWeight
		} else {
			e.Distribution[b].Normal += w(i) / e.NormalWeight
		}
	}

	cal := make([]CalibrationBin, len(calibrationEdges)-1)
	var frauds = make([]float64, len(cal))
	for b := range cal {
		cal[b].Lo, cal[b].Hi = calibrationEdges[b], calibrationEdges[b+1]
	}
	for i, s := range scores {
		b, found := slices.BinarySearch(calibrationEdges, s)
		if !found {
			b--
		}
		b = min(max(b, 0), len(cal)-1)
		cal[b].Rows++
		cal[b].Weight += w(i)
		cal[b].Predicted += w(i) * s
		frauds[b] += w(i) * float64(labels[i])
	}
	for b := range cal {
		if cal[b].Rows == 0 {
			continue
		}
		if cal[b].Weight > 0 {
			cal[b].Predicted /= cal[b].Weight
			cal[b].Observed = frauds[b] / cal[b].Weight
		} else {
			cal[b].Predicted, cal[b].Observed = math.NaN(), math.NaN()
		}
		e.Calibration = append(e.Calibration, cal[b])
	}
	return e, nil
}

// step is one distinct score of the rows sorted from the highest score down, with the
// weights of frauds (tp) and normals (fp), and the rows, scoring at least that much.
type step struct {
	score   float64
	tp, fp  float64
	flagged int
}

// firstBelow returns the index of the first step (in descending score) whose score is below
// t: the steps before it are flagged at t.
func firstBelow(steps []step, t float64) int {
	lo, hi := 0, len(steps)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if steps[mid].score >= t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// thin keeps the first and last points of a curve and each point that moved more than
// 1/maxCurvePoints of either axis from the last kept one.
func thin(pts []Point) []Point {
	if len(pts) <= 2 {
		return pts
	}
	const eps = 1.0 / maxCurvePoints
	out := []Point{pts[0]}
	for _, p := range pts[1 : len(pts)-1] {
		last := out[len(out)-1]
		if math.Abs(p.X-last.X) > eps || math.Abs(p.Y-last.Y) > eps {
			out = append(out, p)
		}
	}
	return append(out, pts[len(pts)-1])
}

// logit is the log-odds of a probability, ±Inf at 0 and 1.
func logit(p float64) float64 { return math.Log(p) - math.Log1p(-p) }
