package decision

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// TestPSI checks the index on shares worked out by hand, the empty bins included.
func TestPSI(t *testing.T) {
	for _, tc := range []struct {
		name             string
		expected, actual []float64
		want             float64
	}{
		{"equal", []float64{.2, .3, .5}, []float64{.2, .3, .5}, 0},
		// (.25 − .5)·ln(.25/.5) + (.75 − .5)·ln(.75/.5) = .25·ln 3
		{"moved", []float64{.5, .5}, []float64{.25, .75}, .25 * math.Log(3)},
		// Both bins empty on one side: 2 · (1 − ε) · ln(1/ε).
		{"swapped", []float64{1, 0}, []float64{0, 1}, 2 * (1 - PSIEpsilon) * math.Log(1/PSIEpsilon)},
		{"empty on both sides", []float64{0, 1}, []float64{0, 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PSI(tc.expected, tc.actual); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("got %.15g, want %.15g", got, tc.want)
			}
		})
	}
}

// TestDriftCounter counts decisions into a small profile and checks every PSI against the
// shares counted by hand; the score counts the profile's own version only.
func TestDriftCounter(t *testing.T) {
	profile := &model.DriftProfile{
		Rows: 10,
		Features: []model.DriftHistogram{
			{Feature: "V1", Edges: []float64{0}, Shares: []float64{.5, .5}},
			{Feature: "Amount", Edges: []float64{10, 100}, Shares: []float64{.2, .5, .3}},
		},
		Score: model.DriftHistogram{Edges: []float64{.5}, Shares: []float64{.9, .1}},
	}
	c := NewDriftCounter(profile, "v1")
	if r := c.Report(); r.Count != 0 || r.Features[0].PSI != nil || r.Score.PSI != nil {
		t.Fatalf("got %+v over no decision, want null figures", r)
	}
	v1, amount := 1, fraud.NumFeatures-1
	add := func(version string, x1, amt, p float64) {
		in := fraud.DecisionInput{ModelVersion: version, Probability: p}
		in.Features[v1], in.Features[amount] = x1, amt
		in.Features[0] = 1e9 // Time is not counted
		if err := c.Add(&in); err != nil {
			t.Fatal(err)
		}
	}
	add("v1", -1, 5, .1)   // V1 bin 0, Amount bin 0, score bin 0
	add("v1", 0, 10, .5)   // edges fall in the bin below: 0, 0, 0
	add("v1", 2, 50, .7)   // 1, 1, 1
	add("v2", 3, 500, .99) // 1, 2, not in the score
	r := c.Report()
	if r.Count != 4 || r.Score.Count != 3 || r.ModelVersion != "v1" {
		t.Fatalf("got count %d, score count %d, version %s, want 4, 3, v1", r.Count, r.Score.Count, r.ModelVersion)
	}
	for _, tc := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"V1", r.Features[0].PSI, PSI([]float64{.5, .5}, []float64{.5, .5})},
		{"Amount", r.Features[1].PSI, PSI([]float64{.2, .5, .3}, []float64{.5, .25, .25})},
		{"score", r.Score.PSI, PSI([]float64{.9, .1}, []float64{2.0 / 3, 1.0 / 3})},
	} {
		if tc.got == nil || math.Abs(*tc.got-tc.want) > 1e-15 {
			t.Errorf("%s: got PSI %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if r.Features[0].Feature != "V1" || r.Features[1].Feature != "Amount" {
		t.Errorf("got features %+v, want V1 and Amount", r.Features)
	}
	if *r.Features[0].PSI != 0 || *r.Features[1].PSI <= 0.1 {
		t.Errorf("got PSIs %v and %v, want 0 for V1 and a large one for Amount", *r.Features[0].PSI, *r.Features[1].PSI)
	}
}

// limitScanner is a store that gives n decisions and records the limit it was asked for.
type limitScanner struct {
	n     int
	limit int
}

func (s *limitScanner) ScanDecisionInputs(_ context.Context, _, _ time.Time, limit int, fn func(*fraud.DecisionInput) error) error {
	s.limit = limit
	for range s.n {
		if err := fn(&fraud.DecisionInput{ModelVersion: "other", Probability: 0.5}); err != nil {
			return err
		}
	}
	return nil
}

// TestDriftAsksForASample checks that drift is measured on a sample of DriftSample decisions
// at most (the stores' suite checks that the sample is even), and reports what it was given.
func TestDriftAsksForASample(t *testing.T) {
	m, err := model.LoadLatest(filepath.Join("..", "..", "models"), "")
	if err != nil {
		t.Fatalf("load the shipped model: %v", err)
	}
	s := &limitScanner{n: 7}
	r, err := Drift(context.Background(), s, m, time.Now().Add(-time.Hour), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.limit != DriftSample || DriftSample != 100_000 {
		t.Errorf("asked the store for %d decisions at most (DriftSample %d), want 100,000", s.limit, DriftSample)
	}
	if r.Count != 7 {
		t.Errorf("count %d, want the 7 decisions the store gave", r.Count)
	}
}
