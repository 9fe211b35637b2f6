package telemetry

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/fraudguard/fraudguard/wire"
)

// fakeClock is a settable clock for MetricsOptions.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// mustMetrics returns Metrics on a fresh registry with a clock at t0.
func mustMetrics(t testing.TB, window time.Duration, t0 time.Time) (*Metrics, *prometheus.Registry, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: t0}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, MetricsOptions{Window: window, Now: clock.Now})
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	return m, reg, clock
}

// exercise calls every method once, so that every metric has a series.
func exercise(m *Metrics) {
	m.ObserveRequest("/predict", "POST", 200, 6*time.Microsecond)
	m.ObservePrediction(0.93, true)
	m.PredictionFailed(OutcomeInvalid)
	m.RateLimited()
	m.SecurityBlocked("attack")
	m.SecurityBlockBypassed("probe")
	m.DependencyError("database")
	m.SetBreakerOpen("redis", true)
	m.Fallback("redis")
	m.ModelReloaded(true)
	m.KeysReloaded(true)
	m.LoadedAtStart()
	m.SetModel("1.0.0", "logreg")
	m.SetBatchJobs("queued", 3)
	m.AddBatchRows(10)
	m.WatchAudit(auditCounts{dropped: 1, failed: 2, purged: 6, purgeFailures: 7})
	m.WatchTracing(nil)
	psi := 0.05
	m.SetDrift(&wire.DriftResponse{Features: []wire.FeatureDrift{{Feature: "V14", PSI: &psi}}, Score: wire.ScoreDrift{PSI: &psi}})
}

// auditCounts is a fixed AuditCounts.
type auditCounts struct{ dropped, failed, purged, purgeFailures int64 }

func (a auditCounts) Dropped() int64       { return a.dropped }
func (a auditCounts) Failed() int64        { return a.failed }
func (a auditCounts) Purged() int64        { return a.purged }
func (a auditCounts) PurgeFailures() int64 { return a.purgeFailures }

func TestNewMetricsRegisters(t *testing.T) {
	t.Parallel()
	m, reg, _ := mustMetrics(t, 0, time.Unix(1_700_000_000, 0))
	exercise(m)
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := make(map[string]dto.MetricType)
	for _, f := range families {
		got[f.GetName()] = f.GetType()
	}
	want := map[string]dto.MetricType{
		"fraudguard_http_requests_total":                         dto.MetricType_COUNTER,
		"fraudguard_http_request_duration_seconds":               dto.MetricType_HISTOGRAM,
		"fraudguard_predictions_total":                           dto.MetricType_COUNTER,
		"fraudguard_fraud_probability":                           dto.MetricType_HISTOGRAM,
		"fraudguard_model_info":                                  dto.MetricType_GAUGE,
		"fraudguard_feature_psi":                                 dto.MetricType_GAUGE,
		"fraudguard_score_psi":                                   dto.MetricType_GAUGE,
		"fraudguard_rate_limited_total":                          dto.MetricType_COUNTER,
		"fraudguard_security_blocked_total":                      dto.MetricType_COUNTER,
		"fraudguard_batch_jobs":                                  dto.MetricType_GAUGE,
		"fraudguard_batch_rows_total":                            dto.MetricType_COUNTER,
		"fraudguard_dependency_errors_total":                     dto.MetricType_COUNTER,
		"fraudguard_model_reloads_total":                         dto.MetricType_COUNTER,
		"fraudguard_key_reloads_total":                           dto.MetricType_COUNTER,
		"fraudguard_model_reload_last_success_timestamp_seconds": dto.MetricType_GAUGE,
		"fraudguard_key_reload_last_success_timestamp_seconds":   dto.MetricType_GAUGE,
		"fraudguard_audit_events_dropped_total":                  dto.MetricType_COUNTER,
		"fraudguard_audit_events_failed_total":                   dto.MetricType_COUNTER,
		"fraudguard_audit_events_purged_total":                   dto.MetricType_COUNTER,
		"fraudguard_audit_purge_failures_total":                  dto.MetricType_COUNTER,
		"fraudguard_trace_export_failures_total":                 dto.MetricType_COUNTER,
		"fraudguard_log_lines_dropped_total":                     dto.MetricType_COUNTER,
		"fraudguard_log_write_failures_total":                    dto.MetricType_COUNTER,
		"fraudguard_decisions_recorded_total":                    dto.MetricType_COUNTER,
		"fraudguard_decisions_dropped_total":                     dto.MetricType_COUNTER,
		"fraudguard_decisions_failed_total":                      dto.MetricType_COUNTER,
		"fraudguard_decisions_purged_total":                      dto.MetricType_COUNTER,
		"fraudguard_decisions_writer_rests_total":                dto.MetricType_COUNTER,
		"fraudguard_decisions_writer_process_restarts_total":     dto.MetricType_COUNTER,
		"fraudguard_decisions_writer_process_behind":             dto.MetricType_GAUGE,
		"go_goroutines":                                          dto.MetricType_GAUGE,
		"go_memstats_heap_alloc_bytes":                           dto.MetricType_GAUGE,
		"process_resident_memory_bytes":                          dto.MetricType_GAUGE,
	}
	for name, typ := range want {
		gt, ok := got[name]
		if !ok {
			t.Errorf("metric %s: not registered", name)
			continue
		}
		if gt != typ {
			t.Errorf("metric %s: got type %v, want %v", name, gt, typ)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil {
		t.Errorf("GatherAndLint: %v", err)
	} else {
		for _, p := range problems {
			// The names are the API's contract; the linter's only complaint may be that a
			// probability has no unit suffix.
			if p.Metric == "fraudguard_fraud_probability" {
				continue
			}
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}
}

func TestMetricsSeries(t *testing.T) {
	t.Parallel()
	m, reg, _ := mustMetrics(t, 0, time.Unix(1_700_000_000, 0))
	m.ObserveRequest("/predict", "POST", 200, time.Millisecond)
	m.ObserveRequest("/predict", "POST", 200, time.Millisecond)
	m.ObserveRequest("/predict", "POST", 422, time.Millisecond)
	m.ObserveRequest("unmatched", "BREW", 404, time.Millisecond)
	m.ObserveRequest("/health", "GET", 599, time.Millisecond)
	m.ObservePrediction(0.01, false)
	m.ObservePrediction(0.02, false)
	m.ObservePrediction(0.97, true)
	m.PredictionFailed(OutcomeInvalid)
	m.PredictionFailed("error")
	m.PredictionFailed("anything else")
	m.ModelReloaded(true)
	m.ModelReloaded(false)
	m.ModelReloaded(false)
	m.SecurityBlocked("attack")
	m.SecurityBlocked("attack")
	m.SecurityBlocked("blocked_ip")
	m.DependencyError("redis")
	m.RateLimited()
	m.SetBatchJobs("queued", 7)
	m.SetBatchJobs("running", 2)
	m.SetBatchJobs("queued", 5)
	m.AddBatchRows(1000)
	m.AddBatchRows(-5)
	m.SetModel("1", "logreg")
	m.SetModel("2", "trees")

	const want = `
# HELP fraudguard_http_requests_total HTTP requests answered, by route pattern, method and status code.
# TYPE fraudguard_http_requests_total counter
fraudguard_http_requests_total{method="GET",route="/health",status="599"} 1
fraudguard_http_requests_total{method="OTHER",route="unmatched",status="404"} 1
fraudguard_http_requests_total{method="POST",route="/predict",status="200"} 2
fraudguard_http_requests_total{method="POST",route="/predict",status="422"} 1
# HELP fraudguard_predictions_total Transactions submitted for scoring, by outcome: fraud, legit, invalid (rejected input) or error.
# TYPE fraudguard_predictions_total counter
fraudguard_predictions_total{outcome="error"} 2
fraudguard_predictions_total{outcome="fraud"} 1
fraudguard_predictions_total{outcome="invalid"} 1
fraudguard_predictions_total{outcome="legit"} 2
# HELP fraudguard_model_reloads_total Model reloads, by outcome: success or failure (the old model stays live).
# TYPE fraudguard_model_reloads_total counter
fraudguard_model_reloads_total{outcome="failure"} 2
fraudguard_model_reloads_total{outcome="success"} 1
# HELP fraudguard_security_blocked_total Requests refused by the security guard, by reason.
# TYPE fraudguard_security_blocked_total counter
fraudguard_security_blocked_total{reason="attack"} 2
fraudguard_security_blocked_total{reason="blocked_ip"} 1
# HELP fraudguard_dependency_errors_total Failed calls to a dependency (database, rate limit store, ...), by dependency.
# TYPE fraudguard_dependency_errors_total counter
fraudguard_dependency_errors_total{dependency="redis"} 1
# HELP fraudguard_rate_limited_total Requests refused by the rate limiter.
# TYPE fraudguard_rate_limited_total counter
fraudguard_rate_limited_total 1
# HELP fraudguard_batch_jobs Batch jobs, by status.
# TYPE fraudguard_batch_jobs gauge
fraudguard_batch_jobs{status="queued"} 5
fraudguard_batch_jobs{status="running"} 2
# HELP fraudguard_batch_rows_total Rows scored by batch jobs.
# TYPE fraudguard_batch_rows_total counter
fraudguard_batch_rows_total 1000
# HELP fraudguard_model_info The live model: 1 for its version and kind.
# TYPE fraudguard_model_info gauge
fraudguard_model_info{kind="trees",version="2"} 1
`
	names := []string{
		"fraudguard_http_requests_total", "fraudguard_predictions_total", "fraudguard_model_reloads_total",
		"fraudguard_security_blocked_total", "fraudguard_dependency_errors_total", "fraudguard_rate_limited_total",
		"fraudguard_batch_jobs", "fraudguard_batch_rows_total", "fraudguard_model_info",
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(reg, "fraudguard_http_request_duration_seconds"); got != 3 {
		t.Errorf("duration series: got %d, want 3 (route and method, not status)", got)
	}
}

// TestReloadAndWriterMetrics checks the reload counters and last-success times, and the
// counters read from the audit writer and the trace exporter on scrape.
func TestReloadAndWriterMetrics(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	m, reg, clock := mustMetrics(t, 0, t0)
	m.LoadedAtStart()
	clock.Set(t0.Add(90 * time.Second))
	m.ModelReloaded(false) // a failure leaves the time of the last success
	m.KeysReloaded(true)
	m.KeysReloaded(false)
	tr := &Tracing{provider: sdktrace.NewTracerProvider(), exporter: &recordingExporter{}}
	t.Cleanup(func() { _ = tr.provider.Shutdown(context.Background()) })
	tr.exporter.failures.Add(3)

	// Before a source is attached the counters read zero.
	const before = `
# HELP fraudguard_audit_events_dropped_total Audit events logged but not stored because the audit queue was full.
# TYPE fraudguard_audit_events_dropped_total counter
fraudguard_audit_events_dropped_total 0
# HELP fraudguard_trace_export_failures_total Batches of spans that could not be delivered to the OTLP collector.
# TYPE fraudguard_trace_export_failures_total counter
fraudguard_trace_export_failures_total 0
# HELP fraudguard_decisions_writer_process_behind 1 while the decision log's writer process is out of the idle scheduling class, at nice 19, because its batches waited a second or more; 0 otherwise, and without a writer process.
# TYPE fraudguard_decisions_writer_process_behind gauge
fraudguard_decisions_writer_process_behind 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(before), "fraudguard_audit_events_dropped_total", "fraudguard_trace_export_failures_total",
		"fraudguard_decisions_writer_process_behind"); err != nil {
		t.Error(err)
	}
	m.WatchAudit(auditCounts{dropped: 4, failed: 5, purged: 6, purgeFailures: 7})
	m.WatchTracing(tr)
	m.WatchLog(logCounts{dropped: 8, failed: 9})
	m.WatchDecisions(decisionCounts{recorded: 8, dropped: 9, failed: 10, purged: 11, rests: 12})
	m.WatchWriterProcess(writerProcess{restarts: 13, behind: true})

	const want = `
# HELP fraudguard_model_reloads_total Model reloads, by outcome: success or failure (the old model stays live).
# TYPE fraudguard_model_reloads_total counter
fraudguard_model_reloads_total{outcome="failure"} 1
fraudguard_model_reloads_total{outcome="success"} 0
# HELP fraudguard_key_reloads_total Reloads of the API keys file, by outcome: success or failure (the old keys stay in force).
# TYPE fraudguard_key_reloads_total counter
fraudguard_key_reloads_total{outcome="failure"} 1
fraudguard_key_reloads_total{outcome="success"} 1
# HELP fraudguard_model_reload_last_success_timestamp_seconds When the live model was loaded (at start-up or by the last successful reload), in Unix seconds.
# TYPE fraudguard_model_reload_last_success_timestamp_seconds gauge
fraudguard_model_reload_last_success_timestamp_seconds 1.7e+09
# HELP fraudguard_key_reload_last_success_timestamp_seconds When the keys in force were loaded (at start-up or by the last successful reload), in Unix seconds.
# TYPE fraudguard_key_reload_last_success_timestamp_seconds gauge
fraudguard_key_reload_last_success_timestamp_seconds 1.70000009e+09
# HELP fraudguard_audit_events_dropped_total Audit events logged but not stored because the audit queue was full.
# TYPE fraudguard_audit_events_dropped_total counter
fraudguard_audit_events_dropped_total 4
# HELP fraudguard_audit_events_failed_total Audit events logged but not stored because the store refused them.
# TYPE fraudguard_audit_events_failed_total counter
fraudguard_audit_events_failed_total 5
# HELP fraudguard_audit_events_purged_total Stored audit events deleted because they were older than AUDIT_RETENTION_DAYS.
# TYPE fraudguard_audit_events_purged_total counter
fraudguard_audit_events_purged_total 6
# HELP fraudguard_audit_purge_failures_total Audit retention purges the store failed; the next one is an hour later.
# TYPE fraudguard_audit_purge_failures_total counter
fraudguard_audit_purge_failures_total 7
# HELP fraudguard_trace_export_failures_total Batches of spans that could not be delivered to the OTLP collector.
# TYPE fraudguard_trace_export_failures_total counter
fraudguard_trace_export_failures_total 3
# HELP fraudguard_log_lines_dropped_total Log lines (access log included) dropped rather than waited for, because the log buffer was full: the disk or pipe was too slow.
# TYPE fraudguard_log_lines_dropped_total counter
fraudguard_log_lines_dropped_total 8
# HELP fraudguard_log_write_failures_total Writes of buffered log lines to the log destination that failed; each loses the lines it held.
# TYPE fraudguard_log_write_failures_total counter
fraudguard_log_write_failures_total 9
# HELP fraudguard_decisions_recorded_total Decisions stored in the decision log.
# TYPE fraudguard_decisions_recorded_total counter
fraudguard_decisions_recorded_total 8
# HELP fraudguard_decisions_dropped_total Decisions not recorded because the decision log's queue was full; the answers were not delayed.
# TYPE fraudguard_decisions_dropped_total counter
fraudguard_decisions_dropped_total 9
# HELP fraudguard_decisions_failed_total Decisions not recorded because the store refused them.
# TYPE fraudguard_decisions_failed_total counter
fraudguard_decisions_failed_total 10
# HELP fraudguard_decisions_purged_total Recorded decisions deleted because they were older than DECISION_RETENTION_DAYS.
# TYPE fraudguard_decisions_purged_total counter
fraudguard_decisions_purged_total 11
# HELP fraudguard_decisions_writer_rests_total Times the decision log's writer rested after a batch because the processors were busy while it stored it (goroutines or other tasks waited for a CPU): it then spends about a third of the time storing at most, and its queue takes up the rest.
# TYPE fraudguard_decisions_writer_rests_total counter
fraudguard_decisions_writer_rests_total 12
# HELP fraudguard_decisions_writer_process_restarts_total Times the decision log's writer process was started again after the first: it had died, or was stopped for failing or not answering a batch.
# TYPE fraudguard_decisions_writer_process_restarts_total counter
fraudguard_decisions_writer_process_restarts_total 13
# HELP fraudguard_decisions_writer_process_behind 1 while the decision log's writer process is out of the idle scheduling class, at nice 19, because its batches waited a second or more; 0 otherwise, and without a writer process.
# TYPE fraudguard_decisions_writer_process_behind gauge
fraudguard_decisions_writer_process_behind 1
`
	names := []string{
		"fraudguard_decisions_recorded_total", "fraudguard_decisions_dropped_total", "fraudguard_decisions_failed_total", "fraudguard_decisions_purged_total",
		"fraudguard_decisions_writer_rests_total", "fraudguard_decisions_writer_process_restarts_total", "fraudguard_decisions_writer_process_behind",
		"fraudguard_log_lines_dropped_total", "fraudguard_log_write_failures_total",
		"fraudguard_model_reloads_total", "fraudguard_key_reloads_total",
		"fraudguard_model_reload_last_success_timestamp_seconds", "fraudguard_key_reload_last_success_timestamp_seconds",
		"fraudguard_audit_events_dropped_total", "fraudguard_audit_events_failed_total",
		"fraudguard_audit_events_purged_total", "fraudguard_audit_purge_failures_total", "fraudguard_trace_export_failures_total",
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

func TestMetricsHistogramBuckets(t *testing.T) {
	t.Parallel()
	m, reg, _ := mustMetrics(t, 0, time.Unix(1_700_000_000, 0))
	m.ObserveRequest("/predict", "POST", 200, 150*time.Microsecond)
	m.ObservePrediction(0.004, false)
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	first := map[string]float64{"fraudguard_http_request_duration_seconds": 0.0001, "fraudguard_fraud_probability": 0.001}
	for _, f := range families {
		want, ok := first[f.GetName()]
		if !ok {
			continue
		}
		delete(first, f.GetName())
		h := f.GetMetric()[0].GetHistogram()
		if got := h.GetBucket()[0].GetUpperBound(); got != want {
			t.Errorf("%s: first bucket: got %v, want %v", f.GetName(), got, want)
		}
		if h.GetSampleCount() != 1 {
			t.Errorf("%s: got %d samples, want 1", f.GetName(), h.GetSampleCount())
		}
	}
	if len(first) != 0 {
		t.Errorf("histograms not found: %v", first)
	}
}

func TestNewMetricsErrors(t *testing.T) {
	t.Parallel()
	t.Run("nil registerer", func(t *testing.T) {
		t.Parallel()
		if _, err := NewMetrics(nil, MetricsOptions{}); err == nil {
			t.Error("got nil error, want one")
		}
	})
	t.Run("window under a second", func(t *testing.T) {
		t.Parallel()
		if _, err := NewMetrics(prometheus.NewRegistry(), MetricsOptions{Window: time.Millisecond}); err == nil {
			t.Error("got nil error, want one")
		}
	})
	t.Run("window over the maximum", func(t *testing.T) {
		t.Parallel()
		if _, err := NewMetrics(prometheus.NewRegistry(), MetricsOptions{Window: MaxMetricsWindow + time.Second}); err == nil {
			t.Error("got nil error, want one")
		}
	})
	t.Run("registerer that is not a gatherer", func(t *testing.T) {
		t.Parallel()
		reg := prometheus.NewRegistry()
		wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"shard": "a"}, reg)
		if _, err := NewMetrics(wrapped, MetricsOptions{}); err == nil {
			t.Fatal("got nil error, want one asking for a Gatherer")
		}
		m, err := NewMetrics(wrapped, MetricsOptions{Gatherer: reg})
		if err != nil {
			t.Fatalf("NewMetrics with Gatherer: %v", err)
		}
		m.RateLimited()
		if got := testutil.ToFloat64(m.rateLimited); got != 1 {
			t.Errorf("rate limited: got %v, want 1", got)
		}
	})
	t.Run("twice on one registry", func(t *testing.T) {
		t.Parallel()
		reg := prometheus.NewRegistry()
		if _, err := NewMetrics(reg, MetricsOptions{}); err != nil {
			t.Fatalf("first NewMetrics: %v", err)
		}
		_, err := NewMetrics(reg, MetricsOptions{})
		if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
			t.Errorf("second NewMetrics: got %v, want an AlreadyRegisteredError", err)
		}
	})
	t.Run("failure leaves nothing registered", func(t *testing.T) {
		t.Parallel()
		reg := prometheus.NewRegistry()
		// The same metric as NewMetrics' last one: the registry keeps label names and help
		// per name for good, so only an identical twin can be taken away again.
		clash := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fraudguard_model_reloads_total",
			Help: "Model reloads, by outcome: success or failure (the old model stays live).",
		}, []string{"outcome"})
		reg.MustRegister(clash)
		if _, err := NewMetrics(reg, MetricsOptions{}); err == nil {
			t.Fatal("got nil error, want a clash")
		}
		reg.Unregister(clash)
		if _, err := NewMetrics(reg, MetricsOptions{}); err != nil {
			t.Errorf("NewMetrics after the clash is gone: %v (something stayed registered)", err)
		}
	})
	t.Run("go and process collectors already there", func(t *testing.T) {
		t.Parallel()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		if _, err := NewMetrics(reg, MetricsOptions{}); err != nil {
			t.Errorf("NewMetrics: %v", err)
		}
	})
}

func TestMetricsSummary(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	m, _, clock := mustMetrics(t, 10*time.Second, t0)

	empty := m.Summary(t0)
	if empty.TotalRequests != 0 || empty.ErrorRate != 0 || empty.P99MS != 0 || empty.Endpoints == nil {
		t.Errorf("empty summary: got %+v, want zeros and an empty endpoints map", empty)
	}

	// Second 0..19: 10 requests each; 9 of /predict at 2 ms with 200, one /health at 20 ms
	// with 503.
	for s := range 20 {
		clock.Set(t0.Add(time.Duration(s)*time.Second + 100*time.Millisecond))
		for i := range 9 {
			m.ObserveRequest("/predict", "POST", 200, 2*time.Millisecond)
			m.ObservePrediction(float64(i)/10, i == 8)
		}
		m.ObserveRequest("/health", "GET", 503, 20*time.Millisecond)
	}
	m.PredictionFailed(OutcomeInvalid)
	now := t0.Add(19*time.Second + 500*time.Millisecond)
	got := m.Summary(now)

	if got.TotalRequests != 200 {
		t.Errorf("total requests: got %d, want 200", got.TotalRequests)
	}
	if got.TotalPredictions != 180 {
		t.Errorf("total predictions: got %d, want 180 (scored only)", got.TotalPredictions)
	}
	if got.ErrorCount != 20 || got.ErrorRate != 0.1 {
		t.Errorf("errors: got %d (rate %v), want 20 (rate 0.1)", got.ErrorCount, got.ErrorRate)
	}
	wantEndpoints := map[string]int64{"POST /predict": 180, "GET /health": 20}
	if len(got.Endpoints) != len(wantEndpoints) {
		t.Errorf("endpoints: got %v, want %v", got.Endpoints, wantEndpoints)
	}
	for k, v := range wantEndpoints {
		if got.Endpoints[k] != v {
			t.Errorf("endpoint %q: got %d, want %d", k, got.Endpoints[k], v)
		}
	}
	if got.WindowSeconds != 10 {
		t.Errorf("window: got %d s, want 10", got.WindowSeconds)
	}
	if got.UptimeSeconds != 19.5 {
		t.Errorf("uptime: got %v s, want 19.5", got.UptimeSeconds)
	}
	// The window holds seconds 10..19: 100 requests over 10 s.
	if got.RequestsPerSecond != 10 {
		t.Errorf("requests per second: got %v, want 10", got.RequestsPerSecond)
	}
	if want := (9*2.0 + 20) / 10; math.Abs(got.AverageResponseTimeMS-want) > 1e-9 {
		t.Errorf("average: got %v ms, want %v", got.AverageResponseTimeMS, want)
	}
	for _, p := range []struct {
		name      string
		got, want float64
	}{{"p50", got.P50MS, 2}, {"p95", got.P95MS, 20}, {"p99", got.P99MS, 20}} {
		if math.Abs(p.got-p.want) > p.want*maxRelErr {
			t.Errorf("%s: got %v ms, want %v within %.1f%%", p.name, p.got, p.want, maxRelErr*100)
		}
	}

	// Early on, the rate is over the time since start rather than the whole window.
	m2, _, clock2 := mustMetrics(t, 60*time.Second, t0)
	for range 30 {
		m2.ObserveRequest("/predict", "POST", 200, time.Millisecond)
	}
	clock2.Set(t0.Add(3 * time.Second))
	if got := m2.Summary(t0.Add(3 * time.Second)).RequestsPerSecond; got != 10 {
		t.Errorf("requests per second 3 s after start: got %v, want 10", got)
	}
	if got := m2.Summary(t0.Add(100 * time.Millisecond)).RequestsPerSecond; got != 30 {
		t.Errorf("requests per second in the first second: got %v, want 30 (a second at least)", got)
	}
	if got := m2.Summary(t0.Add(2 * time.Minute)).RequestsPerSecond; got != 0 {
		t.Errorf("requests per second two minutes later: got %v, want 0", got)
	}
}

func TestMetricsHandler(t *testing.T) {
	t.Parallel()
	m, _, _ := mustMetrics(t, 0, time.Now())
	exercise(m)
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status: got %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{
		`fraudguard_http_requests_total{method="POST",route="/predict",status="200"} 1`,
		`fraudguard_http_request_duration_seconds_bucket{method="POST",route="/predict",le="0.0001"} 1`,
		`fraudguard_model_info{kind="logreg",version="1.0.0"} 1`,
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q", want)
		}
	}
}

func TestMetricsConcurrent(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	m, reg, clock := mustMetrics(t, 5*time.Second, t0)
	const (
		workers = 8
		each    = 1800
	)
	routes := []string{"/predict", "/health", "/models/info", "unmatched"}
	statuses := []int{200, 400, 404, 429, 500, 503}
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				m.ObserveRequest(routes[(g+i)%len(routes)], "POST", statuses[i%len(statuses)], time.Duration(i)*time.Microsecond)
				m.ObservePrediction(float64(i%100)/100, i%10 == 0)
				if i%100 == 0 {
					m.SecurityBlocked("attack")
					m.SetModel("v", "trees")
					m.SetBatchJobs("queued", i)
				}
			}
		})
	}
	done := make(chan struct{})
	var side sync.WaitGroup
	side.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				_ = m.Summary(clock.Now())
				if _, err := reg.Gather(); err != nil {
					t.Errorf("Gather: %v", err)
					return
				}
			}
		}
	})
	side.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			default:
				clock.Set(t0.Add(time.Duration(i%3) * time.Second))
				time.Sleep(100 * time.Microsecond)
			}
		}
	})
	wg.Wait()
	close(done)
	side.Wait()

	s := m.Summary(t0.Add(2 * time.Second))
	if s.TotalRequests != workers*each {
		t.Errorf("total requests: got %d, want %d", s.TotalRequests, workers*each)
	}
	if s.TotalPredictions != workers*each {
		t.Errorf("total predictions: got %d, want %d", s.TotalPredictions, workers*each)
	}
	// 500 and 503 are two of the six statuses, taken in turn.
	if want := int64(workers * each / 3); s.ErrorCount != want {
		t.Errorf("errors: got %d, want %d", s.ErrorCount, want)
	}
	var sum int64
	for _, n := range s.Endpoints {
		sum += n
	}
	if sum != workers*each || len(s.Endpoints) != len(routes) {
		t.Errorf("endpoints: got %v, want %d routes summing to %d", s.Endpoints, len(routes), workers*each)
	}
	if got := testutil.ToFloat64(m.blocked.get("attack")); got != workers*each/100 {
		t.Errorf("blocked: got %v, want %d", got, workers*each/100)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	m, _, _ := mustMetrics(t, 0, time.Unix(1_700_000_000, 0))
	m.ObserveRequest("/predict", "POST", 200, time.Millisecond) // first use resolves the series
	if n := testing.AllocsPerRun(1000, func() {
		m.ObserveRequest("/predict", "POST", 200, 6*time.Microsecond)
	}); n != 0 {
		t.Errorf("ObserveRequest: got %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { m.ObservePrediction(0.42, false) }); n != 0 {
		t.Errorf("ObservePrediction: got %v allocations, want 0", n)
	}
}

func TestStatusAndMethodLabels(t *testing.T) {
	t.Parallel()
	for code := 100; code < 1000; code++ {
		if got, want := statusLabel(code), strconvItoa(code); got != want {
			t.Errorf("statusLabel(%d): got %q, want %q", code, got, want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"GET", "GET"}, {"POST", "POST"}, {"DELETE", "DELETE"}, {"get", "OTHER"}, {"BREW", "OTHER"}, {"", "OTHER"},
	} {
		if got := methodLabel(tc.in); got != tc.want {
			t.Errorf("methodLabel(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func strconvItoa(n int) string {
	var b [3]byte
	b[0], b[1], b[2] = byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10)
	return string(b[:])
}

type logCounts struct{ dropped, failed int64 }

func (l logCounts) Dropped() int64 { return l.dropped }
func (l logCounts) Failed() int64  { return l.failed }

type decisionCounts struct{ recorded, dropped, failed, purged, rests int64 }

func (d decisionCounts) Recorded() int64 { return d.recorded }
func (d decisionCounts) Dropped() int64  { return d.dropped }
func (d decisionCounts) Failed() int64   { return d.failed }
func (d decisionCounts) Purged() int64   { return d.purged }
func (d decisionCounts) Rests() int64    { return d.rests }

type writerProcess struct {
	restarts int64
	behind   bool
}

func (w writerProcess) Restarts() int64 { return w.restarts }
func (w writerProcess) Behind() bool    { return w.behind }
