package fraud

import "github.com/fraudguard/fraudguard/wire"

// RiskLevel grades a fraud probability relative to the model's decision threshold. It is the
// wire type: the API sends it as it is.
type RiskLevel = wire.RiskLevel

// The risk levels, from least to most risky.
const (
	RiskLow      = wire.RiskLow
	RiskMedium   = wire.RiskMedium
	RiskHigh     = wire.RiskHigh
	RiskCritical = wire.RiskCritical
)

// RiskFor grades probability p against threshold t. The cut points are tied to the threshold so
// that the level and the decision never disagree:
//
//	low       p < t/2
//	medium    t/2 <= p < t
//	high      t <= p < t + (1-t)/2
//	critical  p >= t + (1-t)/2
//
// so is_fraud (p >= t) holds exactly for high and critical.
func RiskFor(p, t float64) RiskLevel {
	switch {
	case p < t/2:
		return RiskLow
	case p < t:
		return RiskMedium
	case p < t+(1-t)/2:
		return RiskHigh
	default:
		return RiskCritical
	}
}

// Score is the outcome of scoring one transaction.
type Score struct {
	Probability  float64
	IsFraud      bool
	Risk         RiskLevel
	Threshold    float64
	ModelVersion string
}

// NewScore builds the Score of probability p under threshold t.
func NewScore(p, t float64, version string) Score {
	return Score{Probability: p, IsFraud: p >= t, Risk: RiskFor(p, t), Threshold: t, ModelVersion: version}
}
