package model

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// TestHistogram checks the weighted deciles and the shares on sets worked out by hand.
func TestHistogram(t *testing.T) {
	seq := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i + 1)
		}
		return v
	}
	ones := func(n int) []float64 {
		w := make([]float64, n)
		for i := range w {
			w[i] = 1
		}
		return w
	}
	for _, tc := range []struct {
		name       string
		values     []float64
		weights    []float64
		wantEdges  []float64
		wantShares []float64
	}{
		{"1..100 unweighted", seq(100), ones(100),
			[]float64{10, 20, 30, 40, 50, 60, 70, 80, 90},
			[]float64{.1, .1, .1, .1, .1, .1, .1, .1, .1, .1}},
		// 1 weighs as much as 2..10 together: the first five deciles all fall on it.
		{"weighted", seq(10), []float64{9, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			[]float64{1, 3, 5, 7, 9},
			[]float64{9.0 / 18, 2.0 / 18, 2.0 / 18, 2.0 / 18, 2.0 / 18, 1.0 / 18}},
		{"one value", []float64{3, 3, 3}, ones(3), []float64{}, []float64{1}},
		// Only two values: the edge at the largest is dropped, the bin above it would be empty.
		{"two values", []float64{0, 0, 0, 5}, ones(4), []float64{0}, []float64{.75, .25}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := histogram(tc.values, tc.weights)
			if !slices.Equal(h.Edges, tc.wantEdges) {
				t.Errorf("got edges %v, want %v", h.Edges, tc.wantEdges)
			}
			if len(h.Shares) != len(tc.wantShares) {
				t.Fatalf("got shares %v, want %v", h.Shares, tc.wantShares)
			}
			for i := range h.Shares {
				if math.Abs(h.Shares[i]-tc.wantShares[i]) > 1e-12 {
					t.Errorf("got shares %v, want %v", h.Shares, tc.wantShares)
					break
				}
			}
			if err := h.check(); err != nil {
				t.Errorf("got %v, want a valid histogram", err)
			}
		})
	}
}

// TestHistogramBin checks that a value equal to an edge falls in the bin below it.
func TestHistogramBin(t *testing.T) {
	h := DriftHistogram{Edges: []float64{1, 2}}
	for _, tc := range []struct {
		x    float64
		want int
	}{{-5, 0}, {1, 0}, {1.5, 1}, {2, 1}, {2.000001, 2}, {1e9, 2}} {
		if got := h.Bin(tc.x); got != tc.want {
			t.Errorf("Bin(%v): got %d, want %d", tc.x, got, tc.want)
		}
	}
}

func driftRows(t testing.TB, n int) *DriftSample {
	t.Helper()
	s := &DriftSample{Description: "test rows"}
	for i := range n {
		var x [fraud.NumFeatures]float64
		for j := range x {
			x[j] = float64((i*7+j*3)%n) - float64(j)
		}
		s.Rows = append(s.Rows, x)
		s.Weights = append(s.Weights, float64(1+i%2))
	}
	return s
}

// TestSaveDrift checks that Save bins a drift sample into the manifest in format 3, that the
// score's shares are those of the model's probabilities, and that Load refuses the section
// under format 2 or when it is malformed.
func TestSaveDrift(t *testing.T) {
	b := ensembleBundle(t, 10)
	b.Drift = driftRows(t, 50)
	dir := mustSave(t, t.TempDir(), b)
	m := mustLoad(t, dir)
	if m.Manifest.FormatVersion != 3 {
		t.Errorf("got format_version %d, want 3 for a bundle with a drift section", m.Manifest.FormatVersion)
	}
	d := m.Drift()
	if d == nil || d.Rows != 50 || d.Description != "test rows" || len(d.Features) != fraud.NumFeatures-1 {
		t.Fatalf("got drift %+v, want 50 rows of %d features", d, fraud.NumFeatures-1)
	}
	if d.Features[0].Feature != "V1" || d.Features[28].Feature != "Amount" {
		t.Errorf("got features %s..%s, want V1..Amount", d.Features[0].Feature, d.Features[28].Feature)
	}
	// The score's shares, recomputed from the model's probabilities.
	want := make([]float64, len(d.Score.Shares))
	var total float64
	for i := range b.Drift.Rows {
		want[d.Score.Bin(m.Probability(&b.Drift.Rows[i]))] += b.Drift.Weights[i]
		total += b.Drift.Weights[i]
	}
	for i := range want {
		if math.Abs(want[i]/total-d.Score.Shares[i]) > 1e-12 {
			t.Errorf("score bin %d: got share %v, want %v", i, d.Score.Shares[i], want[i]/total)
		}
	}
	if len(d.Score.Edges) == 0 {
		t.Errorf("got no score edges, want the probabilities cut")
	}

	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"format 2", func(m map[string]any) { m["format_version"] = 2 }, "which need format_version 3"},
		{"edges out of order", func(m map[string]any) {
			edges := m["drift"].(map[string]any)["score"].(map[string]any)["edges"].([]any)
			edges[0], edges[1] = edges[1], edges[0]
		}, "strictly increasing"},
		{"shares not summing to 1", func(m map[string]any) {
			m["drift"].(map[string]any)["features"].([]any)[3].(map[string]any)["shares"].([]any)[0] = 0.9
		}, "V4: the shares sum to"},
		{"a feature missing", func(m map[string]any) {
			f := m["drift"].(map[string]any)["features"].([]any)
			m["drift"].(map[string]any)["features"] = f[1:]
		}, "28 features, want 29"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := mustSave(t, t.TempDir(), b)
			editManifest(t, dir, tc.edit)
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestSaveWithoutDrift checks that a bundle without a drift sample has no drift section and
// keeps its older format.
func TestSaveWithoutDrift(t *testing.T) {
	m := mustLoad(t, mustSave(t, t.TempDir(), ensembleBundle(t, 10)))
	if m.Drift() != nil || m.Manifest.FormatVersion == 3 {
		t.Errorf("got drift %v in format %d, want none below format 3", m.Drift(), m.Manifest.FormatVersion)
	}
}

// TestSaveRefusesBadDriftSample checks that Save refuses a drift sample it cannot bin.
func TestSaveRefusesBadDriftSample(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(s *DriftSample)
		want string
	}{
		{"no rows", func(s *DriftSample) { s.Rows, s.Weights = nil, nil }, "no rows"},
		{"weights missing", func(s *DriftSample) { s.Weights = s.Weights[1:] }, "weights for"},
		{"NaN", func(s *DriftSample) { s.Rows[2][5] = math.NaN() }, "want a finite number"},
		{"zero weights", func(s *DriftSample) { clear(s.Weights) }, "sum to 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := ensembleBundle(t, 10)
			b.Drift = driftRows(t, 20)
			tc.edit(b.Drift)
			if _, err := Save(t.TempDir(), b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
