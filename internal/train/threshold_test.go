package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestChooseThreshold(t *testing.T) {
	// Six rows from the highest score down: F F N F N N.
	scores := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4}
	labels := []uint8{1, 1, 0, 1, 0, 0}
	tests := []struct {
		name      string
		scores    []float64 // nil: the six rows above
		labels    []uint8
		weights   []float64
		rule      ThresholdRule
		want      float64
		wantValue float64
	}{
		// Flagging >= 0.8: TP 2, FP 0, FN 1, F1 = 4/5. Flagging >= 0.6: TP 3, FP 1, F1 = 6/7.
		{"f1", nil, nil, nil, ThresholdRule{Metric: ThresholdF1}, 0.6, 6.0 / 7},
		// F2 = 5TP / (5TP + 4FN + FP): at 0.6 it is 15/16, at 0.4 (flag all) 15/18.
		{"f2", nil, nil, nil, ThresholdRule{Metric: ThresholdF2}, 0.6, 15.0 / 16},
		// Normals weighing 10 make the false alarm at 0.7 dear: F1 at 0.8 is 4/5, at 0.6 it
		// is 6/16.
		{"f1 weighted", nil, nil, []float64{1, 1, 10, 1, 10, 10}, ThresholdRule{Metric: ThresholdF1}, 0.8, 0.8},
		// Even F2, which favours recall, stops at 0.8 then: 10/(10+4) there against
		// 15/(15+10) at 0.6.
		{"f2 weighted", nil, nil, []float64{1, 1, 10, 1, 10, 10}, ThresholdRule{Metric: ThresholdF2}, 0.8, 10.0 / 14},
		// Cost 100·FN + 1·FP per row: flag down to 0.6 (1 FP) costs 1/6.
		{"cost", nil, nil, nil, ThresholdRule{Metric: ThresholdCost, CostFN: 100, CostFP: 1}, 0.6, 1.0 / 6},
		// A false alarm as dear as a miss: stop at 0.8 (1 FN) rather than 0.6 (1 FP); ties go
		// to the higher threshold.
		{"cost tie", nil, nil, nil, ThresholdRule{Metric: ThresholdCost, CostFN: 1, CostFP: 1}, 0.8, 1.0 / 6},
		// A false alarm far dearer than a miss, and a normal row on top: flagging nothing (one
		// miss) is cheapest, at a threshold just above the top score.
		{"cost flag nothing", []float64{0.9, 0.8, 0.3}, []uint8{0, 1, 0}, nil, ThresholdRule{Metric: ThresholdCost, CostFN: 1, CostFP: 50}, math.Nextafter(0.9, 2), 1.0 / 3},
		// The weighted cost counts a normal row as 10 false alarms: flagging >= 0.6 costs
		// 10, >= 0.8 costs 100 (one miss); flagging all costs 30.
		{"cost weighted", nil, nil, []float64{1, 1, 10, 1, 10, 10}, ThresholdRule{Metric: ThresholdCost, CostFN: 100, CostFP: 1}, 0.6, 10.0 / 33},
		{"zero rule is f1", nil, nil, nil, ThresholdRule{}, 0.6, 6.0 / 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, lb := scores, labels
			if tc.scores != nil {
				sc, lb = tc.scores, tc.labels
			}
			got, value, err := ChooseThreshold(sc, lb, tc.weights, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || math.Abs(value-tc.wantValue) > 1e-12 {
				t.Errorf("got threshold %v (value %v), want %v (value %v)", got, value, tc.want, tc.wantValue)
			}
		})
	}
}

func TestChooseThresholdF1MatchesBestF1Threshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 20 {
		n := 50 + rng.IntN(200)
		scores := make([]float64, n)
		labels := make([]uint8, n)
		weights := make([]float64, n)
		for i := range n {
			labels[i] = uint8(rng.IntN(2))
			scores[i] = math.Round((rng.Float64()+0.3*float64(labels[i]))*20) / 20 // ties
			weights[i] = 1 + 9*float64(1-labels[i])*rng.Float64()
		}
		wantT, wantF := BestF1Threshold(scores, labels, weights)
		gotT, gotF, err := ChooseThreshold(scores, labels, weights, ThresholdRule{Metric: ThresholdF1})
		if err != nil {
			t.Fatal(err)
		}
		if gotT != wantT || gotF != wantF {
			t.Errorf("trial %d: got threshold %v F1 %v, want BestF1Threshold's %v %v", trial, gotT, gotF, wantT, wantF)
		}
	}
}

func TestChooseThresholdRejects(t *testing.T) {
	tests := []struct {
		name string
		rule ThresholdRule
		rows int
		want string
	}{
		{"unknown metric", ThresholdRule{Metric: "f3"}, 2, `threshold metric "f3" is not one of f1, f2, cost`},
		{"negative cost", ThresholdRule{Metric: ThresholdCost, CostFN: -1}, 2, "false-negative cost -1 must be"},
		{"NaN cost", ThresholdRule{Metric: ThresholdCost, CostFP: math.NaN()}, 2, "false-positive cost NaN must be"},
		{"no rows", ThresholdRule{}, 0, "no rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scores := []float64{0.2, 0.8}[:tc.rows]
			labels := []uint8{0, 1}[:tc.rows]
			_, _, err := ChooseThreshold(scores, labels, nil, tc.rule)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
