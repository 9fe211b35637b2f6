package model

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The training distribution.
//
// A bundle may record, in its manifest's drift section (DriftProfile, format 3), how the data
// it learned from was distributed: for each of V1..V28 and Amount, and for the model's own
// probability on those rows, quantile bins with the weighted share of the rows in each. Time
// is left out: it is a clock relative to the start of the training file, so live traffic
// always lies outside its range. The serving side compares the inputs and probabilities it has
// answered with these shares (the population stability index, see decision.PSI) to tell when
// live traffic no longer looks like what the model was trained on.
//
// A histogram's bins are cut by its edges e_0 < e_1 < … < e_{k−2}: bin 0 holds x ≤ e_0, bin i
// holds e_{i−1} < x ≤ e_i, and the last bin x > e_{k−2}. Save computes the edges as the
// weighted deciles of the sample (DriftBins bins, fewer where values repeat) and the shares by
// putting every sample row in its bin by that same rule, so the shares sum to 1.

// DriftBins is the number of quantile bins Save cuts each distribution into, at most.
const DriftBins = 10

// DriftFeatures are the features whose training distribution a bundle records, in order:
// V1..V28 and Amount.
func DriftFeatures() []string {
	names := fraud.FeatureNames()
	return slices.DeleteFunc(names, func(n string) bool { return n == "Time" })
}

// DriftProfile is the manifest's drift section: the training distribution of the model's
// inputs and of its probability.
type DriftProfile struct {
	// Description says which rows were binned and how they weigh.
	Description string `json:"description"`
	// Rows counts the rows binned.
	Rows int `json:"rows"`
	// Features holds one histogram per DriftFeatures name, in that order.
	Features []DriftHistogram `json:"features"`
	// Score is the histogram of the model's probability on the same rows.
	Score DriftHistogram `json:"score"`
}

// DriftHistogram is one distribution in quantile bins.
type DriftHistogram struct {
	// Feature names the input; empty for the score.
	Feature string `json:"feature,omitempty"`
	// Edges are the inner cut points, strictly increasing (see Bin).
	Edges []float64 `json:"edges"`
	// Shares holds each bin's weighted share of the rows: len(Edges)+1 numbers ≥ 0 summing to 1.
	Shares []float64 `json:"shares"`
}

// Bin returns the bin of x: the number of edges below x.
func (h *DriftHistogram) Bin(x float64) int {
	return sort.SearchFloat64s(h.Edges, x)
}

// DriftSample is the rows Save bins into a bundle's drift section, each with its weight.
type DriftSample struct {
	// Rows are the transactions' features, in fraud.FeatureNames order; all finite.
	Rows [][fraud.NumFeatures]float64
	// Weights hold each row's weight (finite, ≥ 0, not all 0).
	Weights []float64
	// Description says in words which rows these are; it goes into the manifest.
	Description string
}

// check reports whether s can be binned: as many finite weights ≥ 0 as rows, a positive sum,
// finite values.
func (s *DriftSample) check() error {
	if len(s.Rows) == 0 {
		return errors.New("drift sample: no rows")
	}
	if len(s.Weights) != len(s.Rows) {
		return fmt.Errorf("drift sample: %d weights for %d rows", len(s.Weights), len(s.Rows))
	}
	var total float64
	for i, w := range s.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("drift sample: row %d has weight %v, want a finite number >= 0", i, w)
		}
		total += w
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return fmt.Errorf("drift sample: the weights sum to %v, want a positive finite number", total)
	}
	for i := range s.Rows {
		for j, v := range s.Rows[i] {
			if !finite(v) {
				return fmt.Errorf("drift sample: row %d: %s is %v, want a finite number", i, fraud.FeatureNames()[j], v)
			}
		}
	}
	return nil
}

// driftProfile bins s, the score being m's probability of each row.
func driftProfile(m *Model, s *DriftSample) (*DriftProfile, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	p := &DriftProfile{Description: s.Description, Rows: len(s.Rows)}
	values := make([]float64, len(s.Rows))
	all := fraud.FeatureNames()
	for _, name := range DriftFeatures() {
		j := slices.Index(all, name)
		for i := range s.Rows {
			values[i] = s.Rows[i][j]
		}
		h := histogram(values, s.Weights)
		h.Feature = name
		p.Features = append(p.Features, h)
	}
	for i := range s.Rows {
		values[i] = m.Probability(&s.Rows[i])
	}
	p.Score = histogram(values, s.Weights)
	return p, nil
}

// histogram cuts values at their weighted deciles and measures each bin's weighted share. An
// edge is the smallest value whose cumulative weight reaches k/DriftBins of the total; repeated
// edges, and an edge at the largest value (its bin above would be empty), are dropped.
func histogram(values, weights []float64) DriftHistogram {
	order := make([]int, len(values))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(values[a], values[b]) })
	var total float64
	for _, w := range weights {
		total += w
	}
	largest := values[order[len(order)-1]]
	var edges []float64
	var cum float64
	k := 1
	for _, i := range order {
		cum += weights[i]
		for k < DriftBins && cum >= total*float64(k)/DriftBins {
			v := values[i]
			if v < largest && (len(edges) == 0 || v > edges[len(edges)-1]) {
				edges = append(edges, v)
			}
			k++
		}
	}
	h := DriftHistogram{Edges: edges, Shares: make([]float64, len(edges)+1)}
	if h.Edges == nil {
		h.Edges = []float64{}
	}
	for i, v := range values {
		h.Shares[h.Bin(v)] += weights[i]
	}
	for b := range h.Shares {
		h.Shares[b] /= total
	}
	return h
}

// checkDrift checks a manifest's drift section: every DriftFeatures name in order, strictly
// increasing finite edges, and finite shares ≥ 0, one more than the edges, summing to 1 (to
// 1e-9).
func checkDrift(p *DriftProfile) error {
	if p == nil {
		return nil
	}
	names := DriftFeatures()
	if len(p.Features) != len(names) {
		return fmt.Errorf("%s: drift: %d features, want %d (%s to %s)", ManifestFile, len(p.Features), len(names), names[0], names[len(names)-1])
	}
	if p.Rows <= 0 {
		return fmt.Errorf("%s: drift: rows is %d, want a positive number", ManifestFile, p.Rows)
	}
	for i := range p.Features {
		if p.Features[i].Feature != names[i] {
			return fmt.Errorf("%s: drift: features[%d] is %q, want %q", ManifestFile, i, p.Features[i].Feature, names[i])
		}
		if err := p.Features[i].check(); err != nil {
			return fmt.Errorf("%s: drift: %s: %w", ManifestFile, names[i], err)
		}
	}
	if p.Score.Feature != "" {
		return fmt.Errorf("%s: drift: score names feature %q, want none", ManifestFile, p.Score.Feature)
	}
	if err := p.Score.check(); err != nil {
		return fmt.Errorf("%s: drift: score: %w", ManifestFile, err)
	}
	return nil
}

func (h *DriftHistogram) check() error {
	if len(h.Shares) != len(h.Edges)+1 {
		return fmt.Errorf("%d shares for %d edges, want %d", len(h.Shares), len(h.Edges), len(h.Edges)+1)
	}
	for i, e := range h.Edges {
		if !finite(e) {
			return fmt.Errorf("edge %d is %v, want a finite number", i, e)
		}
		if i > 0 && !(e > h.Edges[i-1]) {
			return fmt.Errorf("edges %d and %d are %v and %v, want strictly increasing edges", i-1, i, h.Edges[i-1], e)
		}
	}
	var sum float64
	for i, s := range h.Shares {
		if !finite(s) || s < 0 {
			return fmt.Errorf("share %d is %v, want a finite number >= 0", i, s)
		}
		sum += s
	}
	if math.Abs(sum-1) > 1e-9 {
		return fmt.Errorf("the shares sum to %v, want 1", sum)
	}
	return nil
}

// Drift returns the training distribution the model's bundle records, or nil when it has
// none (written before bundles kept one, or imported without a reference file).
func (m *Model) Drift() *DriftProfile { return m.Manifest.Drift }
