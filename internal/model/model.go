// Package model holds the model bundle (format, load, save, checks), its members and the
// Registry that holds the live model.
package model

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Member is one part of a model: it maps a transaction's features to a margin (log-odds
// contribution). Margin must not allocate and must be safe for concurrent use.
type Member interface {
	Margin(x *[fraud.NumFeatures]float64) float64
}

// Model is a loaded, checked model bundle. The probability of fraud is
// sigmoid(Bias + Σ weight_i · member_i.Margin(x)), so members blend in log-odds space.
// A Model is immutable once loaded and safe for concurrent use.
type Model struct {
	Manifest Manifest
	// Dir is the bundle directory it was loaded from.
	Dir string
	// SHA256 is the hex digest of the bundle's content (see BundleDigest).
	SHA256 string
	// LoadedAt is when the bundle was loaded.
	LoadedAt time.Time
	// Warnings are what the checks at load time let through but a reader should know, such
	// as NoCanariesWarning.
	Warnings []string

	// requests counts the transactions this Model answered (CountRequest): the one field
	// that changes after loading.
	requests atomic.Int64

	members []Member
	weights []float64
	bias    float64

	// Set once the members are built (see importance.go).
	importance Importance
	explainErr error
}

// CountRequest counts n transactions answered by the model.
func (m *Model) CountRequest(n int64) { m.requests.Add(n) }

// Requests returns how many transactions the model answered since it was loaded.
func (m *Model) Requests() int64 { return m.requests.Load() }

// Version returns the model version.
func (m *Model) Version() string { return m.Manifest.Version }

// Threshold returns the decision threshold.
func (m *Model) Threshold() float64 { return m.Manifest.Threshold }

// Margin returns the model's log-odds for x.
func (m *Model) Margin(x *[fraud.NumFeatures]float64) float64 {
	s := m.bias
	for i, mem := range m.members {
		s += m.weights[i] * mem.Margin(x)
	}
	return s
}

// Probability returns the probability of fraud for x.
func (m *Model) Probability(x *[fraud.NumFeatures]float64) float64 {
	return Sigmoid(m.Margin(x))
}

// Score scores x: its probability, decision and risk level under the model's threshold.
func (m *Model) Score(x *[fraud.NumFeatures]float64) fraud.Score {
	return fraud.NewScore(m.Probability(x), m.Manifest.Threshold, m.Manifest.Version)
}

// Sigmoid is the logistic function, stable for large |z|.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Registry holds the live model behind an atomic pointer: readers never lock, and a new model
// is swapped in only once it has been fully loaded and checked.
type Registry struct {
	current atomic.Pointer[Model]
}

// NewRegistry returns an empty registry; Current returns nil until a model is stored.
func NewRegistry() *Registry { return &Registry{} }

// Current returns the live model, or nil when none is loaded.
func (r *Registry) Current() *Model { return r.current.Load() }

// Store makes m the live model.
func (r *Registry) Store(m *Model) { r.current.Store(m) }

// New makes a model of members as man describes them: members[i] is the member named by
// man.Members[i] and weighs its Weight, and man.Bias is added to the blend. It checks the
// threshold, the bias and the weights, but not the canaries, whose probabilities are those of
// the bundle man was written for: New is how a model that is not loaded from a bundle (the
// members a training run measured before refitting them, say) scores and explains rows the
// way a loaded one does.
func New(man Manifest, members []Member) (*Model, error) {
	if len(members) == 0 {
		return nil, errors.New("new model: no members")
	}
	if len(members) != len(man.Members) {
		return nil, fmt.Errorf("new model: %d members for %d in the manifest", len(members), len(man.Members))
	}
	if !finite(man.Threshold) || man.Threshold < 0 || man.Threshold > 1 {
		return nil, fmt.Errorf("new model: threshold %v is not between 0 and 1", man.Threshold)
	}
	if !finite(man.Bias) {
		return nil, fmt.Errorf("new model: bias %v is not finite", man.Bias)
	}
	m := &Model{Manifest: man, bias: man.Bias}
	for i, mem := range members {
		if mem == nil {
			return nil, fmt.Errorf("new model: member %d is nil", i)
		}
		if w := man.Members[i].Weight; !finite(w) {
			return nil, fmt.Errorf("new model: members[%d]: weight %v is not finite", i, w)
		}
		m.members = append(m.members, mem)
		m.weights = append(m.weights, man.Members[i].Weight)
	}
	return m, nil
}
