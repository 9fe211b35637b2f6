package api

import (
	"context"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/internal/fraud"
)

// BenchmarkDrift measures GET /models/drift's work — one scan of the window's decisions from
// SQLite, binned against the shipped model's training distribution — over 100,000 decisions
// of the first real transaction, varied, as an hour at about 28 requests a second.
func BenchmarkDrift(b *testing.B) {
	store := mustSQLite(b)
	m := mustShippedModel(b)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const n = 100_000
	batch := make([]fraud.Decision, 0, 1000)
	for i := range n {
		x := firstRow
		x[1] += float64(i%97) / 50
		batch = append(batch, fraud.Decision{TransactionID: "b", Time: t0.Add(time.Duration(i) * time.Millisecond), ModelVersion: m.Version(),
			Probability: float64(i%1000) / 1000, Risk: fraud.RiskLow, Threshold: 0.5, Features: x})
		if len(batch) == cap(batch) {
			if err := store.RecordDecisions(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := decision.Drift(context.Background(), store, m, t0, t0.Add(time.Hour))
		if err != nil || r.Count != n {
			b.Fatalf("got %d decisions, %v; want %d", r.Count, err, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/decision")
}
