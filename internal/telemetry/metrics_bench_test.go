package telemetry

import (
	"testing"
	"time"
)

// BenchmarkObserveRequest measures what every request pays: a /predict answered in the few
// microseconds scoring takes, from all cores at once.
func BenchmarkObserveRequest(b *testing.B) {
	m, _, _ := mustMetrics(b, 0, time.Now())
	m.now = time.Now // the real clock, as in production
	// The series a running service has already seen.
	for _, r := range []string{"/predict", "/health", "/models/info", "unmatched"} {
		for _, s := range []int{200, 400, 401, 404, 422, 429, 500} {
			m.ObserveRequest(r, "POST", s, time.Millisecond)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		d := 6 * time.Microsecond
		for pb.Next() {
			m.ObserveRequest("/predict", "POST", 200, d)
			d += 7 * time.Nanosecond
			if d > 50*time.Microsecond {
				d = 6 * time.Microsecond
			}
		}
	})
}

// BenchmarkObservePrediction measures the per-transaction scoring metrics, from all cores.
func BenchmarkObservePrediction(b *testing.B) {
	m, _, _ := mustMetrics(b, 0, time.Now())
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		p := 0.0
		for pb.Next() {
			m.ObservePrediction(p, p > 0.9)
			if p += 0.0137; p > 1 {
				p -= 1
			}
		}
	})
}
