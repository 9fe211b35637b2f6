package decision

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/wire"
)

// PSIEpsilon is the share an empty bin is given in PSI, so that its logarithm is finite.
const PSIEpsilon = 1e-4

// PSI returns the population stability index of the shares actual against the shares
// expected (one per bin, each set summing to 1):
//
//	PSI = Σ_i (a_i − e_i) · ln(a_i / e_i),  a_i = max(actual_i, ε), e_i = max(expected_i, ε)
//
// with ε = PSIEpsilon. It is 0 when the shares are equal and grows as they part; the usual
// reading is below 0.1 little change, 0.1 to 0.2 a moderate one, above 0.2 a significant one.
// Every term is ≥ 0, so a bin empty on one side only adds (share) · ln(share / ε).
func PSI(expected, actual []float64) float64 {
	var psi float64
	for i := range expected {
		e, a := max(expected[i], PSIEpsilon), max(actual[i], PSIEpsilon)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// DriftCounter counts decisions into the bins of a model's training distribution.
type DriftCounter struct {
	profile *model.DriftProfile
	version string
	index   []int   // each histogram's feature index in fraud.FeatureNames
	counts  [][]int // per histogram, per bin
	score   []int
	n       int
	scoreN  int
}

// NewDriftCounter returns a counter for profile, the training distribution of model version
// version: every decision's inputs are counted, the probabilities of that version's only.
func NewDriftCounter(profile *model.DriftProfile, version string) *DriftCounter {
	c := &DriftCounter{profile: profile, version: version, score: make([]int, len(profile.Score.Shares))}
	names := fraud.FeatureNames()
	for _, h := range profile.Features {
		c.index = append(c.index, slices.Index(names, h.Feature))
		c.counts = append(c.counts, make([]int, len(h.Shares)))
	}
	return c
}

// Add counts one decision. It never fails: its error result lets it be the callback of a
// store's ScanDecisionInputs.
func (c *DriftCounter) Add(in *fraud.DecisionInput) error {
	c.n++
	for k := range c.profile.Features {
		c.counts[k][c.profile.Features[k].Bin(in.Features[c.index[k]])]++
	}
	if in.ModelVersion == c.version {
		c.scoreN++
		c.score[c.profile.Score.Bin(in.Probability)]++
	}
	return nil
}

// Report returns the PSI of every input and of the score over the decisions counted; a PSI
// over no decision is nil.
func (c *DriftCounter) Report() wire.DriftResponse {
	r := wire.DriftResponse{ModelVersion: c.version, Count: c.n, Score: wire.ScoreDrift{Count: c.scoreN}}
	r.Features = make([]wire.FeatureDrift, len(c.profile.Features))
	for k, h := range c.profile.Features {
		r.Features[k] = wire.FeatureDrift{Feature: h.Feature, PSI: psiOf(h.Shares, c.counts[k], c.n)}
	}
	r.Score.PSI = psiOf(c.profile.Score.Shares, c.score, c.scoreN)
	return r
}

func psiOf(expected []float64, counts []int, n int) *float64 {
	if n == 0 {
		return nil
	}
	actual := make([]float64, len(counts))
	for i, k := range counts {
		actual[i] = float64(k) / float64(n)
	}
	psi := PSI(expected, actual)
	return &psi
}

// DriftSample is the most decisions drift is measured on: a longer window is measured on an
// even sample of about that many (every k-th decision stored). Sampling adds about
// (bins − 1) / n to a PSI, under 0.0001 here, while reading every decision of a busy day
// (tens of millions) would take minutes of CPU at every refresh of the gauges.
const DriftSample = 100_000

// InputScanner streams the inputs of recorded decisions (fraud.DecisionLog has it).
type InputScanner interface {
	ScanDecisionInputs(ctx context.Context, since, until time.Time, limit int, fn func(*fraud.DecisionInput) error) error
}

// Drift measures the decisions of [since, until) against m's training distribution. A model
// whose bundle has none is a CONFLICT error saying so.
func Drift(ctx context.Context, store InputScanner, m *model.Model, since, until time.Time) (wire.DriftResponse, error) {
	p := m.Drift()
	if p == nil {
		return wire.DriftResponse{}, &fraud.Error{Code: fraud.CodeConflict, Message: fmt.Sprintf(
			"the live model %s has no training distribution to measure drift against: its bundle was written before bundles kept one, or imported without --reference; retrain it, or import it again with --reference", m.Version())}
	}
	c := NewDriftCounter(p, m.Version())
	if err := store.ScanDecisionInputs(ctx, since, until, DriftSample, c.Add); err != nil {
		return wire.DriftResponse{}, fmt.Errorf("measure drift: %w", err)
	}
	r := c.Report()
	r.Since, r.Until = since.UTC(), until.UTC()
	return r, nil
}
