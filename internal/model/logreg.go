package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// KindLogreg is the member kind of a logistic regression.
const KindLogreg = "logreg"

// Logreg is a logistic-regression member. It standardises each feature with the mean and scale
// of its training data and returns
//
//	Intercept + Σ Coef[j] · (x[j] − Mean[j]) / Scale[j]
//
// as its margin. The standardisation belongs to the member, not to the bundle, so that members
// of an ensemble each carry their own preprocessing and a tree member needs none.
type Logreg struct {
	// Mean and Scale standardise each feature; Scale is positive.
	Mean  [fraud.NumFeatures]float64
	Scale [fraud.NumFeatures]float64
	// Coef are the coefficients of the standardised features and Intercept the constant term.
	Coef      [fraud.NumFeatures]float64
	Intercept float64

	// The standardisation folded into raw-feature weights, so Margin is one dot product.
	w [fraud.NumFeatures]float64
	b float64
}

var _ Member = (*Logreg)(nil)

// NewLogreg returns the logistic regression with these parameters. Every value must be finite
// and every scale positive.
func NewLogreg(mean, scale, coef [fraud.NumFeatures]float64, intercept float64) (*Logreg, error) {
	names := fraud.FeatureNames()
	if !finite(intercept) {
		return nil, fmt.Errorf("logreg: intercept %v is not finite", intercept)
	}
	l := &Logreg{Mean: mean, Scale: scale, Coef: coef, Intercept: intercept}
	l.b = intercept
	for j := range coef {
		switch {
		case !finite(mean[j]):
			return nil, fmt.Errorf("logreg: mean of %s is %v, want a finite number", names[j], mean[j])
		case !finite(scale[j]) || scale[j] <= 0:
			return nil, fmt.Errorf("logreg: scale of %s is %v, want a positive finite number", names[j], scale[j])
		case !finite(coef[j]):
			return nil, fmt.Errorf("logreg: coefficient of %s is %v, want a finite number", names[j], coef[j])
		}
		l.w[j] = coef[j] / scale[j]
		l.b -= l.w[j] * mean[j]
	}
	if !finite(l.b) {
		return nil, fmt.Errorf("logreg: folded intercept overflows")
	}
	return l, nil
}

// Margin returns the member's log-odds for x. It does not allocate.
func (l *Logreg) Margin(x *[fraud.NumFeatures]float64) float64 {
	s := l.b
	for j := range x {
		s += l.w[j] * x[j]
	}
	return s
}

// logregFile is the JSON form of a Logreg member file. Its features field repeats the feature
// order so the file can be read on its own.
type logregFile struct {
	Kind      string    `json:"kind"`
	Features  []string  `json:"features"`
	Mean      []float64 `json:"mean"`
	Scale     []float64 `json:"scale"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
}

// MarshalJSON encodes l as its member file.
func (l *Logreg) MarshalJSON() ([]byte, error) {
	return json.Marshal(logregFile{
		Kind:      KindLogreg,
		Features:  fraud.FeatureNames(),
		Mean:      l.Mean[:],
		Scale:     l.Scale[:],
		Coef:      l.Coef[:],
		Intercept: l.Intercept,
	})
}

// LoadLogreg decodes a Logreg member file (see MarshalJSON). It is the MemberLoader of
// KindLogreg.
func LoadLogreg(data []byte) (Member, error) {
	var f logregFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("logreg: decode: %w", err)
	}
	if f.Kind != KindLogreg {
		return nil, fmt.Errorf("logreg: kind is %q, want %q", f.Kind, KindLogreg)
	}
	if err := checkFeatures(f.Features); err != nil {
		return nil, fmt.Errorf("logreg: %w", err)
	}
	var mean, scale, coef [fraud.NumFeatures]float64
	for _, v := range []struct {
		name string
		src  []float64
		dst  *[fraud.NumFeatures]float64
	}{{"mean", f.Mean, &mean}, {"scale", f.Scale, &scale}, {"coef", f.Coef, &coef}} {
		if len(v.src) != fraud.NumFeatures {
			return nil, fmt.Errorf("logreg: %s has %d values, want %d", v.name, len(v.src), fraud.NumFeatures)
		}
		copy(v.dst[:], v.src)
	}
	return NewLogreg(mean, scale, coef, f.Intercept)
}

// checkFeatures reports the first position where names differs from fraud.FeatureNames.
func checkFeatures(names []string) error {
	want := fraud.FeatureNames()
	if slices.Equal(names, want) {
		return nil
	}
	for i := range min(len(names), len(want)) {
		if names[i] != want[i] {
			return fmt.Errorf("features[%d] is %q, want %q (features must be %s..%s in creditcard.csv order)",
				i, names[i], want[i], want[0], want[len(want)-1])
		}
	}
	return fmt.Errorf("features has %d names, want %d (%s..%s)", len(names), len(want), want[0], want[len(want)-1])
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
