package report

import (
	"math"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/model"
)

// The small case, worked by hand: three frauds (weight 1) and five normal rows (weight 2 each,
// standing for two transactions), threshold 0.5.
var (
	smallScores  = []float64{0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1}
	smallLabels  = []uint8{1, 0, 1, 0, 1, 0, 0, 0}
	smallWeights = []float64{1, 2, 1, 2, 1, 2, 2, 2}
)

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-12 }

func TestEvaluateSmallCase(t *testing.T) {
	e, err := Evaluate(smallScores, smallLabels, smallWeights, 0.5)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	// Frauds 0.9, 0.7, 0.4 against normals 0.8, 0.6, 0.3, 0.2, 0.1: 5 + 4 + 3 of 15 pairs
	// ordered right (each class's weights are alike, so they cancel).
	figures := []struct {
		name      string
		got, want float64
	}{
		{"fraud weight", e.FraudWeight, 3},
		{"normal weight", e.NormalWeight, 10},
		{"ROC-AUC", e.Metrics.ROCAUC, 12.0 / 15},
		// Recall steps of 1/3 at precisions 1/1, 2/4 (frauds 0.9, 0.7 and the normal 0.8)
		// and 3/7.
		{"average precision", e.Metrics.AUPRC, 1.0/3 + 1.0/6 + 1.0/7},
		// Flagged at 0.5: frauds 0.9 and 0.7, normals 0.8 and 0.6 (two transactions each).
		{"TP", e.Metrics.Confusion.TP, 2},
		{"FP", e.Metrics.Confusion.FP, 4},
		{"TN", e.Metrics.Confusion.TN, 6},
		{"FN", e.Metrics.Confusion.FN, 1},
		{"precision", e.Metrics.Precision, 2.0 / 6},
		{"recall", e.Metrics.Recall, 2.0 / 3},
		{"F1", e.Metrics.F1, 4.0 / 9},
		{"alerts per 10k", e.AlertsPer10k, 1e4 * 6 / 13},
		{"rows TP", e.Flagged.TP, 2},
		{"rows FP", e.Flagged.FP, 2},
		{"rows TN", e.Flagged.TN, 3},
		{"rows FN", e.Flagged.FN, 1},
		// Squared errors: frauds .01+.09+.36, normals 2·(.64+.36+.09+.04+.01), over 13.
		{"Brier", e.Brier, 2.74 / 13},
	}
	for _, f := range figures {
		if !near(f.got, f.want) {
			t.Errorf("%s: got %v, want %v", f.name, f.got, f.want)
		}
	}
	if e.Rows != 8 || e.Frauds != 3 {
		t.Errorf("got %d rows and %d frauds, want 8 and 3", e.Rows, e.Frauds)
	}

	wantROC := []Point{{0, 0}, {0, 1.0 / 3}, {0.2, 1.0 / 3}, {0.2, 2.0 / 3}, {0.4, 2.0 / 3}, {0.4, 1}, {0.6, 1}, {0.8, 1}, {1, 1}}
	if !pointsNear(e.ROC, wantROC) {
		t.Errorf("ROC: got %v, want %v", e.ROC, wantROC)
	}
	wantPR := []Point{{1.0 / 3, 1}, {1.0 / 3, 1.0 / 3}, {2.0 / 3, 2.0 / 4}, {2.0 / 3, 2.0 / 6}, {1, 3.0 / 7}, {1, 3.0 / 9}, {1, 3.0 / 11}, {1, 3.0 / 13}}
	if !pointsNear(e.PR, wantPR) {
		t.Errorf("PR: got %v, want %v", e.PR, wantPR)
	}

	rows := map[float64]ThresholdRow{}
	for _, r := range e.Thresholds {
		rows[r.Threshold] = r
	}
	if len(rows) != len(thresholdLadder) || !rows[0.5].Model || rows[0.4].Model {
		t.Errorf("got %d thresholds (0.5 model %v), want the ladder of %d with 0.5 the model's", len(rows), rows[0.5].Model, len(thresholdLadder))
	}
	tests := []struct {
		t                        float64
		alerts, false10k         float64
		precision, recall        float64
		flagged                  int
		precisionUndefined, want bool
	}{
		{t: 0.5, alerts: 1e4 * 6 / 13, false10k: 1e4 * 4 / 13, precision: 2.0 / 6, recall: 2.0 / 3, flagged: 4},
		// 0.3 flags the score 0.3 itself: frauds 0.9, 0.7, 0.4 and normals 0.8, 0.6, 0.3.
		{t: 0.3, alerts: 1e4 * 9 / 13, false10k: 1e4 * 6 / 13, precision: 3.0 / 9, recall: 1, flagged: 6},
		{t: 0.001, alerts: 1e4, false10k: 1e4 * 10 / 13, precision: 3.0 / 13, recall: 1, flagged: 8},
		{t: 0.95, precisionUndefined: true},
	}
	for _, tc := range tests {
		r, ok := rows[tc.t]
		if !ok {
			t.Errorf("threshold %v: missing from the table", tc.t)
			continue
		}
		if !near(r.AlertsPer10k, tc.alerts) || !near(r.FalseAlertsPer10k, tc.false10k) || !near(r.Recall, tc.recall) || r.Flagged != tc.flagged ||
			(tc.precisionUndefined != math.IsNaN(r.Precision)) || (!tc.precisionUndefined && !near(r.Precision, tc.precision)) {
			t.Errorf("threshold %v: got %+v, want alerts %v, false alerts %v, precision %v (undefined %v), recall %v, %d rows",
				tc.t, r, tc.alerts, tc.false10k, tc.precision, tc.precisionUndefined, tc.recall, tc.flagged)
		}
	}

	// Calibration: the bin [0.3, 0.5) holds the normal 0.3 (weight 2) and the fraud 0.4.
	var found bool
	for _, b := range e.Calibration {
		if b.Lo == 0.3 {
			found = true
			if b.Rows != 2 || !near(b.Weight, 3) || !near(b.Predicted, 1.0/3) || !near(b.Observed, 1.0/3) {
				t.Errorf("calibration bin [0.3, 0.5): got %+v, want 2 rows weighing 3, prediction 1/3, fraud rate 1/3", b)
			}
		}
		if b.Rows == 0 {
			t.Errorf("calibration bin %+v is empty, want empty bins left out", b)
		}
	}
	if !found || len(e.Calibration) != 6 {
		t.Errorf("got %d calibration bins (bin at 0.3: %v), want 6 with one at 0.3", len(e.Calibration), found)
	}

	// Distribution: 0.9 has log-odds 2.197, in bin (2.197 + 12) / 0.5 = 28; each class sums to 1.
	var sumN, sumF float64
	for _, b := range e.Distribution {
		sumN += b.Normal
		sumF += b.Fraud
	}
	if !near(sumN, 1) || !near(sumF, 1) || !near(e.Distribution[28].Fraud, 1.0/3) || e.Distribution[28].Lo != 2 {
		t.Errorf("distribution: got class sums %v and %v, bin 28 %+v, want 1, 1 and a third of the frauds in [2, 2.5)", sumN, sumF, e.Distribution[28])
	}
}

func pointsNear(got, want []Point) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !near(got[i].X, want[i].X) || !near(got[i].Y, want[i].Y) {
			return false
		}
	}
	return true
}

// Without weights every row weighs 1, and a score equal to the threshold is flagged.
func TestEvaluateUnweightedAndTies(t *testing.T) {
	e, err := Evaluate([]float64{0.5, 0.5, 0.2, 0.2}, []uint8{1, 0, 1, 0}, nil, 0.5)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	want := model.Confusion{TP: 1, FP: 1, TN: 1, FN: 1}
	if e.Metrics.Confusion != want || e.Flagged != want || !near(e.Metrics.ROCAUC, 0.5) || !near(e.AlertsPer10k, 5000) {
		t.Errorf("got confusion %+v (rows %+v), ROC-AUC %v, alerts %v; want %+v, 0.5 and 5000", e.Metrics.Confusion, e.Flagged, e.Metrics.ROCAUC, e.AlertsPer10k, want)
	}
	// Tied scores are one step of the curve.
	if wantROC := []Point{{0, 0}, {0.5, 0.5}, {1, 1}}; !pointsNear(e.ROC, wantROC) {
		t.Errorf("ROC: got %v, want %v", e.ROC, wantROC)
	}
}

func TestEvaluateRejects(t *testing.T) {
	tests := []struct {
		name    string
		scores  []float64
		labels  []uint8
		weights []float64
		t       float64
		want    string
	}{
		{"lengths", []float64{0.1}, []uint8{0, 1}, nil, 0.5, "1 scores, 2 labels"},
		{"no rows", nil, nil, nil, 0.5, "no rows"},
		{"one class", []float64{0.1, 0.2}, []uint8{0, 0}, nil, 0.5, "needs both classes"},
		{"frauds weigh nothing", []float64{0.1, 0.2}, []uint8{0, 1}, []float64{1, 0}, 0.5, "frauds weigh 0"},
		{"score", []float64{0.1, 1.5}, []uint8{0, 1}, nil, 0.5, "score 1.5 is not a probability"},
		{"NaN score", []float64{math.NaN(), 0.5}, []uint8{0, 1}, nil, 0.5, "score NaN"},
		{"weight", []float64{0.1, 0.5}, []uint8{0, 1}, []float64{-1, 1}, 0.5, "weight -1"},
		{"label", []float64{0.1, 0.5}, []uint8{0, 2}, nil, 0.5, "label 2"},
		{"threshold", []float64{0.1, 0.5}, []uint8{0, 1}, nil, math.NaN(), "threshold NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(tc.scores, tc.labels, tc.weights, tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestThinKeepsTheEndsAndVisibleSteps(t *testing.T) {
	var pts []Point
	for i := range 100001 {
		x := float64(i) / 100000
		pts = append(pts, Point{x, x * x})
	}
	got := thin(pts)
	if len(got) > 2*maxCurvePoints+2 || got[0] != pts[0] || got[len(got)-1] != pts[len(pts)-1] {
		t.Fatalf("got %d points from %v to %v, want at most %d from the first to the last", len(got), got[0], got[len(got)-1], 2*maxCurvePoints+2)
	}
	for i := 1; i < len(got); i++ {
		// A kept point is the first more than 1/maxCurvePoints away; the raw steps are 2e-5 at most.
		if d := max(got[i].X-got[i-1].X, got[i].Y-got[i-1].Y); d > 1.0/maxCurvePoints+2e-5 {
			t.Errorf("points %v and %v are %v apart, want no gap over %v", got[i-1], got[i], d, 1.0/maxCurvePoints+2e-5)
		}
	}
}
