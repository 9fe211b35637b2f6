package synth

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
)

//go:embed params.json
var defaultParamsJSON []byte

// Params are the fitted parameters of the generator. They are plain data: encode them with
// WriteJSON, read them back with ParseParams, and check hand-edited ones with Validate.
type Params struct {
	// Source says what the parameters were fitted on.
	Source string `json:"source"`
	// Dims names the dimensions of every component's mean and Cholesky factor, in order:
	// V1..V28 and log1p(Amount) (see DimNames).
	Dims []string `json:"dims"`
	// TimeSpan is the largest Time generated, in seconds; generated Time covers [0, TimeSpan].
	TimeSpan float64 `json:"time_span_seconds"`
	// QuantileProbs are the probabilities, strictly increasing from 0 to 1, at which each
	// class's ClassParams.Quantiles are given.
	QuantileProbs []float64 `json:"quantile_probs"`
	// Normal and Fraud are the parameters of each class (Class 0 and Class 1).
	Normal ClassParams `json:"normal"`
	Fraud  ClassParams `json:"fraud"`
}

// ClassParams are the fitted parameters of one class.
type ClassParams struct {
	// Rows is the number of rows of the class the parameters were fitted on.
	Rows int `json:"rows"`
	// HourRate is the relative rate of the class's transactions in each hour of the day, where
	// the hour of a transaction is floor(Time/3600) mod 24 (Time 0 is midnight). Only ratios
	// matter; Fit scales them to average 1.
	HourRate [24]float64 `json:"hour_rate"`
	// Components is the Gaussian mixture over DimNames; their weights sum to 1. It carries the
	// dependence between features.
	Components []Component `json:"components"`
	// Quantiles are the class's marginal distributions in output units: Quantiles[d] holds the
	// non-decreasing quantiles of V(d+1) for d < 28 and of Amount for d = 28, at QuantileProbs.
	// A generated value is the mixture's draw mapped through its own marginal CDF and then
	// through these quantiles (linearly interpolated), so each feature's distribution matches
	// the fitted one, point masses such as Amount 1.00 included, whatever the mixture's shape.
	Quantiles [][]float64 `json:"quantiles"`
}

// Component is one multivariate Gaussian of a class's mixture.
type Component struct {
	// Weight is the probability that a row of the class is drawn from this component.
	Weight float64 `json:"weight"`
	// Mean has one entry per dimension.
	Mean []float64 `json:"mean"`
	// Chol is the lower-triangular Cholesky factor L of the covariance (Σ = L·Lᵀ) row by row:
	// Chol[i] holds L[i][0..i], and every L[i][i] is positive.
	Chol [][]float64 `json:"chol"`
}

var (
	numberArray = regexp.MustCompile(`\[\s*[-+0-9.eE]+(?:,\s*[-+0-9.eE]+)*\s*\]`)
	lineBreak   = regexp.MustCompile(`\n\s*`)
)

// DimNames returns the names of the model's dimensions in order: V1..V28 and log1p(Amount).
func DimNames() []string {
	names := make([]string, 0, Dim)
	for i := 1; i <= 28; i++ {
		names = append(names, fmt.Sprintf("V%d", i))
	}
	return append(names, "log1p(Amount)")
}

// DefaultParams returns a fresh copy of the parameters shipped with the binary (params.json,
// fitted on a sample of the real data set). The caller may modify the copy.
func DefaultParams() (*Params, error) {
	p, err := ParseParams(defaultParamsJSON)
	if err != nil {
		return nil, fmt.Errorf("embedded params.json: %w", err)
	}
	return p, nil
}

// ParseParams decodes parameters written by WriteJSON and checks them with Validate. Unknown
// fields are rejected so that a misspelt key in a hand-edited file is not silently ignored.
func ParseParams(data []byte) (*Params, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Params
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode params: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode params: trailing data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// WriteJSON writes p as indented JSON, each array of numbers on one line, that ParseParams
// reads back to an equal Params.
func (p *Params) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode params: %w", err)
	}
	// JSON strings hold no raw newlines, so dropping the line breaks inside arrays of numbers
	// cannot touch a string's content.
	b = numberArray.ReplaceAllFunc(b, func(m []byte) []byte { return lineBreak.ReplaceAll(m, nil) })
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Validate reports every way in which p cannot drive a generator, joined into one error, or nil.
func (p *Params) Validate() error {
	var errs []error
	want := DimNames()
	if len(p.Dims) != len(want) {
		errs = append(errs, fmt.Errorf("dims: got %d names, want %d", len(p.Dims), len(want)))
	} else {
		for i := range want {
			if p.Dims[i] != want[i] {
				errs = append(errs, fmt.Errorf("dims[%d]: got %q, want %q", i, p.Dims[i], want[i]))
			}
		}
	}
	if !(p.TimeSpan > 0) || math.IsInf(p.TimeSpan, 0) {
		errs = append(errs, fmt.Errorf("time_span_seconds: got %v, want a finite number > 0", p.TimeSpan))
	}
	if len(p.QuantileProbs) < 2 {
		errs = append(errs, fmt.Errorf("quantile_probs: got %d values, want at least 2", len(p.QuantileProbs)))
	} else {
		if p.QuantileProbs[0] != 0 || p.QuantileProbs[len(p.QuantileProbs)-1] != 1 {
			errs = append(errs, errors.New("quantile_probs: want the first value 0 and the last 1"))
		}
		for i := 1; i < len(p.QuantileProbs); i++ {
			if !(p.QuantileProbs[i] > p.QuantileProbs[i-1]) {
				errs = append(errs, fmt.Errorf("quantile_probs[%d]: got %v after %v, want strictly increasing values", i, p.QuantileProbs[i], p.QuantileProbs[i-1]))
			}
		}
	}
	errs = append(errs, p.Normal.validate("normal", len(p.QuantileProbs))...)
	errs = append(errs, p.Fraud.validate("fraud", len(p.QuantileProbs))...)
	return errors.Join(errs...)
}

func (c *ClassParams) validate(name string, nprobs int) []error {
	var errs []error
	if len(c.Quantiles) != Dim {
		errs = append(errs, fmt.Errorf("%s.quantiles: got %d rows, want %d", name, len(c.Quantiles), Dim))
	}
	for d, q := range c.Quantiles {
		if len(q) != nprobs {
			errs = append(errs, fmt.Errorf("%s.quantiles[%d]: got %d values, want %d (one per quantile_probs)", name, d, len(q), nprobs))
			continue
		}
		for i, v := range q {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("%s.quantiles[%d][%d]: got %v, want a finite number", name, d, i, v))
			} else if i > 0 && v < q[i-1] {
				errs = append(errs, fmt.Errorf("%s.quantiles[%d][%d]: got %v after %v, want non-decreasing values", name, d, i, v, q[i-1]))
			}
		}
	}
	sum := 0.0
	for h, r := range c.HourRate {
		if !(r >= 0) || math.IsInf(r, 0) {
			errs = append(errs, fmt.Errorf("%s.hour_rate[%d]: got %v, want a finite number >= 0", name, h, r))
		}
		sum += r
	}
	if !(sum > 0) {
		errs = append(errs, fmt.Errorf("%s.hour_rate: all zero, want at least one positive rate", name))
	}
	if len(c.Components) == 0 {
		errs = append(errs, fmt.Errorf("%s.components: empty, want at least one", name))
	}
	wsum := 0.0
	for k, comp := range c.Components {
		at := fmt.Sprintf("%s.components[%d]", name, k)
		if !(comp.Weight > 0) || math.IsInf(comp.Weight, 0) {
			errs = append(errs, fmt.Errorf("%s.weight: got %v, want a finite number > 0", at, comp.Weight))
		}
		wsum += comp.Weight
		if len(comp.Mean) != Dim {
			errs = append(errs, fmt.Errorf("%s.mean: got %d values, want %d", at, len(comp.Mean), Dim))
		}
		for i, v := range comp.Mean {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("%s.mean[%d]: got %v, want a finite number", at, i, v))
			}
		}
		if len(comp.Chol) != Dim {
			errs = append(errs, fmt.Errorf("%s.chol: got %d rows, want %d", at, len(comp.Chol), Dim))
			continue
		}
		for i, row := range comp.Chol {
			if len(row) != i+1 {
				errs = append(errs, fmt.Errorf("%s.chol[%d]: got %d values, want %d (lower triangle)", at, i, len(row), i+1))
				continue
			}
			for j, v := range row {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					errs = append(errs, fmt.Errorf("%s.chol[%d][%d]: got %v, want a finite number", at, i, j, v))
				}
			}
			if !(row[i] > 0) {
				errs = append(errs, fmt.Errorf("%s.chol[%d][%d]: got %v, want a diagonal entry > 0", at, i, i, row[i]))
			}
		}
	}
	if len(c.Components) > 0 && math.Abs(wsum-1) > 1e-6 {
		errs = append(errs, fmt.Errorf("%s.components: weights sum to %v, want 1", name, wsum))
	}
	return errs
}
