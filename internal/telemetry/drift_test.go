package telemetry

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fraudguard/fraudguard/wire"
)

// TestSetDrift checks that the drift gauges show the PSIs given, leave out the ones that could
// not be measured, and are removed by a nil report.
func TestSetDrift(t *testing.T) {
	t.Parallel()
	m, reg, _ := mustMetrics(t, 0, time.Unix(1_700_000_000, 0))
	psi := func(v float64) *float64 { return &v }
	m.SetDrift(&wire.DriftResponse{
		Features: []wire.FeatureDrift{{Feature: "V1", PSI: psi(0.05)}, {Feature: "V2", PSI: psi(0.3)}, {Feature: "Amount"}},
		Score:    wire.ScoreDrift{PSI: psi(0.12)},
	})
	if got := testutil.CollectAndCount(reg, "fraudguard_feature_psi"); got != 2 {
		t.Errorf("got %d feature series, want 2 (Amount has no PSI)", got)
	}
	if got := testutil.ToFloat64(m.featurePSI.WithLabelValues("V2")); got != 0.3 {
		t.Errorf("V2: got %v, want 0.3", got)
	}
	if got := testutil.ToFloat64(m.scorePSI.WithLabelValues()); got != 0.12 {
		t.Errorf("score: got %v, want 0.12", got)
	}
	m.SetDrift(&wire.DriftResponse{Features: []wire.FeatureDrift{{Feature: "V1", PSI: psi(0.01)}}})
	if got, want := testutil.CollectAndCount(reg, "fraudguard_feature_psi", "fraudguard_score_psi"), 1; got != want {
		t.Errorf("after a report without V2 and score: got %d series, want %d", got, want)
	}
	m.SetDrift(nil)
	if got := testutil.CollectAndCount(reg, "fraudguard_feature_psi", "fraudguard_score_psi"); got != 0 {
		t.Errorf("after nil: got %d series, want none", got)
	}
}
