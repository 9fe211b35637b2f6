package fraud

import "testing"

func TestRiskFor(t *testing.T) {
	tests := []struct {
		p, t float64
		want RiskLevel
	}{
		{0, 0.5, RiskLow}, {0.249, 0.5, RiskLow}, {0.25, 0.5, RiskMedium}, {0.499, 0.5, RiskMedium},
		{0.5, 0.5, RiskHigh}, {0.749, 0.5, RiskHigh}, {0.75, 0.5, RiskCritical}, {1, 0.5, RiskCritical},
		{0.05, 0.1, RiskMedium}, {0.1, 0.1, RiskHigh}, {0.55, 0.1, RiskCritical}, {0.95, 0.9, RiskCritical},
	}
	for _, tc := range tests {
		if got := RiskFor(tc.p, tc.t); got != tc.want {
			t.Errorf("RiskFor(%v, %v): got %s, want %s", tc.p, tc.t, got, tc.want)
		}
		s := NewScore(tc.p, tc.t, "v")
		if s.IsFraud != (s.Risk == RiskHigh || s.Risk == RiskCritical) {
			t.Errorf("p=%v t=%v: is_fraud %v disagrees with risk %s", tc.p, tc.t, s.IsFraud, s.Risk)
		}
	}
}

func TestFeatureNames(t *testing.T) {
	names := FeatureNames()
	if len(names) != NumFeatures || names[0] != "Time" || names[1] != "V1" || names[28] != "V28" || names[29] != "Amount" {
		t.Errorf("got %v, want Time, V1..V28, Amount", names)
	}
	for _, r := range TransactionFields() {
		if r.Index >= 0 && names[r.Index] != r.Name {
			t.Errorf("field %s has index %d, which names %s", r.Name, r.Index, names[r.Index])
		}
	}
}
