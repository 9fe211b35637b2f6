package train

import (
	"math"
	"testing"

	"github.com/fraudguard/fraudguard/internal/model"
)

// The hand-worked case: 3 frauds, 4 normals, with a fraud/normal tie at 0.8 and at 0.6.
//
//	score  0.9 0.8 0.8 0.7 0.6 0.6 0.4
//	label    1   1   0   0   1   0   0
//
// ROC-AUC: the fraud at 0.9 outranks 4 normals, the one at 0.8 outranks 3 and ties 1, the one
// at 0.6 outranks 1 and ties 1: (4 + 3.5 + 1.5) / (3·4) = 0.75.
// Operating points (threshold: TP, FP): 0.9: 1,0  0.8: 2,1  0.7: 2,2  0.6: 3,3  0.4: 3,4.
// AP = 1/3·1/1 + 1/3·2/3 + 1/3·3/6 = 13/18.
// F1 = 2TP/(TP+FP+3): 0.5, 2/3, 4/7, 2/3, 0.6: the tie between 0.8 and 0.6 goes to 0.8.
var (
	handScores = []float64{0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.4}
	handLabels = []uint8{1, 1, 0, 0, 1, 0, 0}
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func TestMetricsHandCases(t *testing.T) {
	allTied := []float64{0.5, 0.5, 0.5, 0.5}
	tiedLabels := []uint8{1, 0, 0, 0}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"ROC-AUC with ties", ROCAUC(handScores, handLabels, nil), 0.75},
		{"AP with ties", AveragePrecision(handScores, handLabels, nil), 13.0 / 18},
		{"recall at FPR 25%", RecallAtFPR(handScores, handLabels, nil, 0.25), 2.0 / 3},
		{"recall at FPR 1%", RecallAtFPR(handScores, handLabels, nil, 0.01), 1.0 / 3},
		{"ROC-AUC all tied", ROCAUC(allTied, tiedLabels, nil), 0.5},
		{"AP all tied is the prevalence", AveragePrecision(allTied, tiedLabels, nil), 0.25},
		{"recall at FPR when the top is a normal", RecallAtFPR([]float64{0.9, 0.1}, []uint8{0, 1}, nil, 0.01), 0},
		{"ROC-AUC perfect", ROCAUC([]float64{0.1, 0.9, 0.2}, []uint8{0, 1, 0}, nil), 1},
		{"ROC-AUC reversed", ROCAUC([]float64{0.9, 0.1, 0.8}, []uint8{0, 1, 0}, nil), 0},
		{"AP perfect", AveragePrecision([]float64{0.1, 0.9, 0.8}, []uint8{0, 1, 1}, nil), 1},
		// Fraud at 0.9 then a normal at 0.5 and a fraud at 0.2: AP = 1/2·1 + 1/2·2/3.
		{"AP with a miss", AveragePrecision([]float64{0.9, 0.5, 0.2}, []uint8{1, 0, 1}, nil), 0.5 + 1.0/3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !near(tc.got, tc.want) {
				t.Errorf("got %.15g, want %.15g", tc.got, tc.want)
			}
		})
	}
}

func TestMetricsNeedBothClasses(t *testing.T) {
	scores := []float64{0.2, 0.4}
	normals := []uint8{0, 0}
	if got := ROCAUC(scores, normals, nil); !math.IsNaN(got) {
		t.Errorf("ROC-AUC without frauds: got %v, want NaN", got)
	}
	if got := AveragePrecision(scores, normals, nil); !math.IsNaN(got) {
		t.Errorf("AP without frauds: got %v, want NaN", got)
	}
}

func TestBestF1ThresholdTieGoesHigher(t *testing.T) {
	thr, f1 := BestF1Threshold(handScores, handLabels, nil)
	if thr != 0.8 || !near(f1, 2.0/3) {
		t.Errorf("got threshold %v F1 %v, want 0.8 and 2/3", thr, f1)
	}
}

func TestEvaluateAtThreshold(t *testing.T) {
	got := Evaluate(handScores, handLabels, nil, 0.8)
	want := model.Metrics{
		Rows: 7, Frauds: 3, ROCAUC: 0.75, AUPRC: 13.0 / 18, RecallAt1PctFPR: 1.0 / 3,
		Precision: 2.0 / 3, Recall: 2.0 / 3, F1: 2.0 / 3,
		Confusion: model.Confusion{TP: 2, FP: 1, TN: 3, FN: 1},
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"roc_auc", got.ROCAUC, want.ROCAUC}, {"auprc", got.AUPRC, want.AUPRC},
		{"recall_at_1pct_fpr", got.RecallAt1PctFPR, want.RecallAt1PctFPR},
		{"precision", got.Precision, want.Precision}, {"recall", got.Recall, want.Recall}, {"f1", got.F1, want.F1},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if got.Rows != want.Rows || got.Frauds != want.Frauds || got.Confusion != want.Confusion {
		t.Errorf("got rows %d frauds %d confusion %+v, want %d %d %+v", got.Rows, got.Frauds, got.Confusion, want.Rows, want.Frauds, want.Confusion)
	}
	if none := Evaluate(handScores, handLabels, nil, 0.95); none.Precision != 0 || none.Recall != 0 || none.F1 != 0 {
		t.Errorf("nothing flagged: got precision %v recall %v F1 %v, want 0 0 0", none.Precision, none.Recall, none.F1)
	}
}

// A weight of k must count like k copies of the row.
func TestWeightsEqualCopies(t *testing.T) {
	weights := make([]float64, len(handScores))
	var scores []float64
	var labels []uint8
	for i, y := range handLabels {
		k := 1
		if y == 0 {
			k = 3
		}
		weights[i] = float64(k)
		for range k {
			scores = append(scores, handScores[i])
			labels = append(labels, y)
		}
	}
	w := Evaluate(handScores, handLabels, weights, 0.8)
	c := Evaluate(scores, labels, nil, 0.8)
	for _, p := range []struct {
		name      string
		got, want float64
	}{
		{"roc_auc", w.ROCAUC, c.ROCAUC}, {"auprc", w.AUPRC, c.AUPRC}, {"recall_at_1pct_fpr", w.RecallAt1PctFPR, c.RecallAt1PctFPR},
		{"precision", w.Precision, c.Precision}, {"f1", w.F1, c.F1},
		{"fp", w.Confusion.FP, c.Confusion.FP}, {"tn", w.Confusion.TN, c.Confusion.TN},
	} {
		if !near(p.got, p.want) {
			t.Errorf("%s: got %v weighted, want %v as copies", p.name, p.got, p.want)
		}
	}
	wt, _ := BestF1Threshold(handScores, handLabels, weights)
	ct, _ := BestF1Threshold(scores, labels, nil)
	if wt != ct {
		t.Errorf("threshold: got %v weighted, want %v as copies", wt, ct)
	}
}
