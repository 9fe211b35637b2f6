package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The reference sample.
//
// A bundle may carry a sample of the rows its model learned from (ReferenceFile,
// "reference.json"), and its manifest then has a reference section (ReferenceInfo) with the
// model's global importance over that sample: each feature's mean |SHAP value|, weighted by the
// rows' weights. Save computes it once, when the bundle is written, so that Load and
// GET /models/info only read it. The file is one JSON object:
//
//	{
//	  "features": ["Time", "V1", ..., "Amount"],   the transaction features, in order
//	  "rows": [[...30 numbers...], ...],           the sampled rows, in the order they were read
//	  "weights": [56.863, 1, ...]                  how many transactions each row stands for
//	}

// ReferenceFile is the name of a bundle's reference sample.
const ReferenceFile = "reference.json"

// MaxReferenceRows is the most rows a reference sample holds: enough for mean |SHAP| to settle
// to a few per cent on the features that matter, few enough that Save explains them in well
// under a second.
const MaxReferenceRows = 500

// Reference is a sample of transactions, each with a weight, to measure a model's global
// importance on.
type Reference struct {
	// Rows are the transactions' features, in fraud.FeatureNames order; all finite.
	Rows [][fraud.NumFeatures]float64
	// Weights hold each row's weight (finite, >= 0, not all 0).
	Weights []float64
	// Description says in words where the rows come from; it goes into the manifest.
	Description string
}

// ReferenceInfo is the manifest's reference section.
type ReferenceInfo struct {
	// File is the sample's file in the bundle (ReferenceFile).
	File string `json:"file"`
	// Rows counts the sample's rows.
	Rows int `json:"rows"`
	// Description says where the rows come from and how they weigh.
	Description string `json:"description"`
	// MeanAbsSHAP holds, in Features order, each feature's mean |SHAP value| over the rows,
	// weighted by their weights, in log-odds: Σ w·|φ_j| / Σ w, φ being Model.Explain's
	// contributions. Save computes it.
	MeanAbsSHAP []float64 `json:"mean_abs_shap"`
}

type referenceFile struct {
	Features []string                     `json:"features"`
	Rows     [][fraud.NumFeatures]float64 `json:"rows"`
	Weights  []float64                    `json:"weights"`
}

// ReferenceSampler draws a reference sample from a stream of rows: a uniform sample of at most
// its size (reservoir sampling, Vitter's algorithm R), the same rows for the same seed and the
// same stream. Rows of weight 0 stand for nothing and are skipped.
type ReferenceSampler struct {
	rng  *rand.Rand
	size int
	seen int
	rows []sampled
}

type sampled struct {
	at int // the row's place among the rows offered
	x  [fraud.NumFeatures]float64
	w  float64
}

// NewReferenceSampler returns a sampler of at most size rows (1..MaxReferenceRows) whose
// random choices are seeded by seed.
func NewReferenceSampler(seed uint64, size int) *ReferenceSampler {
	size = max(1, min(size, MaxReferenceRows))
	return &ReferenceSampler{rng: rand.New(rand.NewPCG(seed, 0x726566)), size: size}
}

// Add offers one row of weight w.
func (s *ReferenceSampler) Add(x *[fraud.NumFeatures]float64, w float64) {
	if w == 0 {
		return
	}
	s.seen++
	if len(s.rows) < s.size {
		s.rows = append(s.rows, sampled{at: s.seen, x: *x, w: w})
		return
	}
	if j := s.rng.IntN(s.seen); j < s.size {
		s.rows[j] = sampled{at: s.seen, x: *x, w: w}
	}
}

// Seen returns how many rows of weight other than 0 were offered.
func (s *ReferenceSampler) Seen() int { return s.seen }

// Reference returns the sample, its rows in the order they were offered, with description.
func (s *ReferenceSampler) Reference(description string) *Reference {
	rows := slices.Clone(s.rows)
	slices.SortFunc(rows, func(a, b sampled) int { return a.at - b.at })
	r := &Reference{Description: description, Rows: make([][fraud.NumFeatures]float64, len(rows)), Weights: make([]float64, len(rows))}
	for i, row := range rows {
		r.Rows[i], r.Weights[i] = row.x, row.w
	}
	return r
}

// check reports whether r can be stored and measured: 1 to MaxReferenceRows rows, finite
// values, finite weights >= 0 whose sum is positive.
func (r *Reference) check() error {
	if len(r.Rows) == 0 || len(r.Rows) > MaxReferenceRows {
		return fmt.Errorf("reference: %d rows, want 1 to %d", len(r.Rows), MaxReferenceRows)
	}
	if len(r.Weights) != len(r.Rows) {
		return fmt.Errorf("reference: %d weights for %d rows", len(r.Weights), len(r.Rows))
	}
	var total float64
	for i, w := range r.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("reference: row %d has weight %v, want a finite number >= 0", i, w)
		}
		total += w
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return fmt.Errorf("reference: the weights sum to %v, want a positive finite number", total)
	}
	for i := range r.Rows {
		for j, v := range r.Rows[i] {
			if !finite(v) {
				return fmt.Errorf("reference: row %d: %s is %v, want a finite number", i, fraud.FeatureNames()[j], v)
			}
		}
	}
	return nil
}

// marshal encodes r as its file.
func (r *Reference) marshal() ([]byte, error) {
	data, err := json.Marshal(referenceFile{Features: fraud.FeatureNames(), Rows: r.Rows, Weights: r.Weights})
	if err != nil {
		return nil, fmt.Errorf("encode the reference: %w", err)
	}
	return data, nil
}

// decodeReference decodes a reference file strictly and checks it.
func decodeReference(data []byte) (*Reference, error) {
	var f referenceFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("reference: decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("reference: decode: data after the reference object")
	}
	if err := checkFeatures(f.Features); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	r := &Reference{Rows: f.Rows, Weights: f.Weights}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// meanAbsSHAP returns each feature's mean |SHAP value| for m over r's rows, weighted by their
// weights (see ReferenceInfo.MeanAbsSHAP).
func meanAbsSHAP(m *Model, r *Reference) ([]float64, error) {
	var sum [fraud.NumFeatures]float64
	var total float64
	var e Explanation
	for i := range r.Rows {
		if err := m.Explain(&r.Rows[i], &e); err != nil {
			return nil, err
		}
		w := r.Weights[i]
		for j, c := range e.Contributions {
			sum[j] += w * math.Abs(c)
		}
		total += w
	}
	out := make([]float64, fraud.NumFeatures)
	for j := range out {
		out[j] = sum[j] / total
	}
	return out, nil
}
