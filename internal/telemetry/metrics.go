package telemetry

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/fraudguard/fraudguard/wire"
)

// DefaultMetricsWindow is the sliding window of the JSON summary when MetricsOptions.Window is
// zero.
const DefaultMetricsWindow = 60 * time.Second

// MaxMetricsWindow bounds MetricsOptions.Window: the window keeps about 2 KiB per second, in a
// power-of-two number of one-second slots (140 KiB for the default minute).
const MaxMetricsWindow = time.Hour

// Labels of fraudguard_predictions_total, and of fraudguard_model_reloads_total and
// fraudguard_key_reloads_total.
const (
	OutcomeFraud   = "fraud"
	OutcomeLegit   = "legit"
	OutcomeInvalid = "invalid"
	OutcomeError   = "error"

	ReloadSuccess = "success"
	ReloadFailure = "failure"
)

// MetricsOptions are the optional settings of NewMetrics.
type MetricsOptions struct {
	// Window is the length of the sliding window of the JSON summary, rounded down to whole
	// seconds, from 1s to MaxMetricsWindow; zero means DefaultMetricsWindow.
	Window time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Gatherer is what Handler serves. Nil means the Registerer given to NewMetrics, which must
	// then also be a prometheus.Gatherer (a *prometheus.Registry is).
	Gatherer prometheus.Gatherer
}

// Metrics holds fraudguard's Prometheus metrics and the sliding window behind the JSON summary.
// Its methods are safe for concurrent use. ObserveRequest and ObservePrediction, called on every
// request, take no lock shared by requests and do not allocate once a (route, method, status)
// has been seen.
type Metrics struct {
	now      func() time.Time
	start    time.Time
	gatherer prometheus.Gatherer

	requests *childCache[requestKey, requestChild]
	window   *latencyWindow

	predFraud, predLegit         prometheus.Counter
	predInvalid, predError       prometheus.Counter
	probability                  prometheus.Histogram
	modelInfo                    *prometheus.GaugeVec
	featurePSI, scorePSI         *prometheus.GaugeVec
	driftMu                      sync.Mutex
	modelMu                      sync.Mutex // serialises SetModel's reset and set
	rateLimited                  prometheus.Counter
	blocked                      *childCache[string, prometheus.Counter]
	blockBypassed                *childCache[string, prometheus.Counter]
	batchJobs                    *prometheus.GaugeVec
	batchRows                    prometheus.Counter
	dependencyErrors             *childCache[string, prometheus.Counter]
	breakerOpen                  *prometheus.GaugeVec
	fallbacks                    *childCache[string, prometheus.Counter]
	reloadSuccess, reloadFailure prometheus.Counter
	modelReloadedAt              prometheus.Gauge
	keyReloadSuccess             prometheus.Counter
	keyReloadFailure             prometheus.Counter
	keysReloadedAt               prometheus.Gauge

	// The sources that the audit and tracing counters read on scrape; nil reads as zero.
	audit     atomic.Pointer[AuditCounts]
	decisions atomic.Pointer[DecisionCounts]
	writer    atomic.Pointer[WriterProcess]
	tracing   atomic.Pointer[Tracing]
	log       atomic.Pointer[LogCounts]
}

// LogCounts is what the log writer counts: lines dropped because its buffer was full (the disk
// too slow), and writes to the destination that failed.
type LogCounts interface {
	Dropped() int64
	Failed() int64
}

// AuditCounts is what the audit writer counts: events it could not store because its queue was
// full (Dropped), events the store refused (Failed), stored events deleted by retention
// (Purged) and purges that failed (PurgeFailures).
type AuditCounts interface {
	Dropped() int64
	Failed() int64
	Purged() int64
	PurgeFailures() int64
}

// DecisionCounts is what the decision log's writer counts: decisions stored (Recorded), not
// queued because the queue was full (Dropped), refused by the store (Failed), and deleted by
// retention (Purged), and the times it rested to let busy requests run (Rests).
type DecisionCounts interface {
	Recorded() int64
	Dropped() int64
	Failed() int64
	Purged() int64
	Rests() int64
}

// WriterProcess is the decision log's writer process as the server sees it: how many times it
// was started again after the first (it died, or was stopped for failing a batch), and whether
// it is out of the idle scheduling class because the log is behind.
type WriterProcess interface {
	Restarts() int64
	Behind() bool
}

// requestKey identifies one series of fraudguard_http_requests_total.
type requestKey struct {
	route, method string
	status        int
}

// requestChild is the resolved series of one requestKey.
type requestChild struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics creates fraudguard's metrics and registers them, with the Go runtime and process
// collectors, on reg. If reg already holds the Go or process collector, that one is kept. On
// error nothing stays registered.
func NewMetrics(reg prometheus.Registerer, opts MetricsOptions) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("new metrics: nil registerer")
	}
	gatherer := opts.Gatherer
	if gatherer == nil {
		g, ok := reg.(prometheus.Gatherer)
		if !ok {
			return nil, fmt.Errorf("new metrics: %T is not a prometheus.Gatherer: set MetricsOptions.Gatherer", reg)
		}
		gatherer = g
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	window := opts.Window
	if window == 0 {
		window = DefaultMetricsWindow
	}
	if window < time.Second || window > MaxMetricsWindow {
		return nil, fmt.Errorf("new metrics: window %v is not between 1s and %v", window, MaxMetricsWindow)
	}

	httpRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "status"})
	httpDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "fraudguard", Subsystem: "http", Name: "request_duration_seconds",
		Help: "Time to answer an HTTP request, by route pattern and method.",
		// From 100 µs: scoring takes microseconds, so coarser buckets would put nearly every
		// request in the first one.
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	predictions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "fraudguard", Name: "predictions_total",
		Help: "Transactions submitted for scoring, by outcome: fraud, legit, invalid (rejected input) or error.",
	}, []string{"outcome"})
	probability := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "fraudguard", Name: "fraud_probability",
		Help: "Fraud probability of scored transactions.",
		// Logarithmic where most legitimate transactions score, linear towards 1 where the
		// fraud threshold usually sits.
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99},
	})
	modelInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "fraudguard", Name: "model_info",
		Help: "The live model: 1 for its version and kind.",
	}, []string{"version", "kind"})
	rateLimited := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "fraudguard", Name: "rate_limited_total",
		Help: "Requests refused by the rate limiter.",
	})
	blocked := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "security", Name: "blocked_total",
		Help: "Requests refused by the security guard, by reason.",
	}, []string{"reason"})
	blockBypassed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "security", Name: "block_bypassed_total",
		Help: "Requests from a blocked address let through, by reason: probe (a health probe) or admin (a valid admin key).",
	}, []string{"reason"})
	batchJobs := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "fraudguard", Subsystem: "batch", Name: "jobs",
		Help: "Batch jobs, by status.",
	}, []string{"status"})
	batchRows := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "batch", Name: "rows_total",
		Help: "Rows scored by batch jobs.",
	})
	dependencyErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "fraudguard", Name: "dependency_errors_total",
		Help: "Failed calls to a dependency (database, rate limit store, ...), by dependency.",
	}, []string{"dependency"})
	breakerOpen := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "fraudguard", Name: "circuit_breaker_open",
		Help: "1 while the circuit breaker around a shared dependency (postgres, redis) is open or half-open, and calls skip it; 0 while closed.",
	}, []string{"dependency"})
	fallbacks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "fraudguard", Name: "dependency_fallbacks_total",
		Help: "Calls answered without a shared dependency that is down (the instance's own rate limiter instead of Redis's, say), by dependency.",
	}, []string{"dependency"})
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "fraudguard", Name: "model_reloads_total",
		Help: "Model reloads, by outcome: success or failure (the old model stays live).",
	}, []string{"outcome"})
	modelReloadedAt := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "fraudguard", Name: "model_reload_last_success_timestamp_seconds",
		Help: "When the live model was loaded (at start-up or by the last successful reload), in Unix seconds.",
	})
	keyReloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "fraudguard", Name: "key_reloads_total",
		Help: "Reloads of the API keys file, by outcome: success or failure (the old keys stay in force).",
	}, []string{"outcome"})
	keysReloadedAt := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "fraudguard", Name: "key_reload_last_success_timestamp_seconds",
		Help: "When the keys in force were loaded (at start-up or by the last successful reload), in Unix seconds.",
	})

	m := &Metrics{}
	auditDropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "audit", Name: "events_dropped_total",
		Help: "Audit events logged but not stored because the audit queue was full.",
	}, func() float64 {
		if a := m.audit.Load(); a != nil {
			return float64((*a).Dropped())
		}
		return 0
	})
	auditFailed := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "audit", Name: "events_failed_total",
		Help: "Audit events logged but not stored because the store refused them.",
	}, func() float64 {
		if a := m.audit.Load(); a != nil {
			return float64((*a).Failed())
		}
		return 0
	})
	auditPurged := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "audit", Name: "events_purged_total",
		Help: "Stored audit events deleted because they were older than AUDIT_RETENTION_DAYS.",
	}, func() float64 {
		if a := m.audit.Load(); a != nil {
			return float64((*a).Purged())
		}
		return 0
	})
	auditPurgeFailures := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "audit", Name: "purge_failures_total",
		Help: "Audit retention purges the store failed; the next one is an hour later.",
	}, func() float64 {
		if a := m.audit.Load(); a != nil {
			return float64((*a).PurgeFailures())
		}
		return 0
	})
	decisionCounter := func(name, help string, read func(DecisionCounts) int64) prometheus.CounterFunc {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "fraudguard", Subsystem: "decisions", Name: name, Help: help,
		}, func() float64 {
			if d := m.decisions.Load(); d != nil {
				return float64(read(*d))
			}
			return 0
		})
	}
	decisionsRecorded := decisionCounter("recorded_total", "Decisions stored in the decision log.", DecisionCounts.Recorded)
	decisionsDropped := decisionCounter("dropped_total", "Decisions not recorded because the decision log's queue was full; the answers were not delayed.", DecisionCounts.Dropped)
	decisionsFailed := decisionCounter("failed_total", "Decisions not recorded because the store refused them.", DecisionCounts.Failed)
	decisionsPurged := decisionCounter("purged_total", "Recorded decisions deleted because they were older than DECISION_RETENTION_DAYS.", DecisionCounts.Purged)
	decisionsRests := decisionCounter("writer_rests_total", "Times the decision log's writer rested after a batch because the processors were busy while it stored it (goroutines or other tasks waited for a CPU): it then spends about a third of the time storing at most, and its queue takes up the rest.", DecisionCounts.Rests)
	writerRestarts := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "decisions", Name: "writer_process_restarts_total",
		Help: "Times the decision log's writer process was started again after the first: it had died, or was stopped for failing or not answering a batch.",
	}, func() float64 {
		if w := m.writer.Load(); w != nil {
			return float64((*w).Restarts())
		}
		return 0
	})
	writerBehind := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "fraudguard", Subsystem: "decisions", Name: "writer_process_behind",
		Help: "1 while the decision log's writer process is out of the idle scheduling class, at nice 19, because its batches waited a second or more; 0 otherwise, and without a writer process.",
	}, func() float64 {
		if w := m.writer.Load(); w != nil && (*w).Behind() {
			return 1
		}
		return 0
	})
	traceFailures := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "trace", Name: "export_failures_total",
		Help: "Batches of spans that could not be delivered to the OTLP collector.",
	}, func() float64 { return float64(m.tracing.Load().ExportFailures()) })

	logDropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "log", Name: "lines_dropped_total",
		Help: "Log lines (access log included) dropped rather than waited for, because the log buffer was full: the disk or pipe was too slow.",
	}, func() float64 {
		if l := m.log.Load(); l != nil {
			return float64((*l).Dropped())
		}
		return 0
	})
	logFailed := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "fraudguard", Subsystem: "log", Name: "write_failures_total",
		Help: "Writes of buffered log lines to the log destination that failed; each loses the lines it held.",
	}, func() float64 {
		if l := m.log.Load(); l != nil {
			return float64((*l).Failed())
		}
		return 0
	})

	featurePSI := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "fraudguard", Name: "feature_psi",
		Help: "Population stability index of an input over the last DRIFT_WINDOW of recorded decisions against the live model's training distribution, refreshed every DRIFT_INTERVAL; absent when it cannot be measured.",
	}, []string{"feature"})
	scorePSI := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "fraudguard", Name: "score_psi",
		Help: "Population stability index of the live model's probabilities over the last DRIFT_WINDOW of recorded decisions against its training distribution, refreshed every DRIFT_INTERVAL; absent when it cannot be measured.",
	}, nil)
	own := []prometheus.Collector{
		featurePSI, scorePSI,
		httpRequests, httpDuration, predictions, probability, modelInfo, rateLimited, blocked,
		blockBypassed, batchJobs, batchRows, dependencyErrors, breakerOpen, fallbacks, reloads, modelReloadedAt,
		keyReloads, keysReloadedAt, auditDropped, auditFailed, auditPurged, auditPurgeFailures, traceFailures,
		logDropped, logFailed,
		decisionsRecorded, decisionsDropped, decisionsFailed, decisionsPurged, decisionsRests, writerRestarts, writerBehind,
	}
	var registered []prometheus.Collector
	unregister := func() {
		for _, c := range registered {
			reg.Unregister(c)
		}
	}
	for _, c := range own {
		if err := reg.Register(c); err != nil {
			unregister()
			return nil, fmt.Errorf("new metrics: register: %w", err)
		}
		registered = append(registered, c)
	}
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok && are.ExistingCollector != nil {
				continue
			}
			unregister()
			return nil, fmt.Errorf("new metrics: register: %w", err)
		}
		registered = append(registered, c)
	}

	*m = Metrics{
		now:        now,
		start:      now(),
		gatherer:   gatherer,
		window:     newLatencyWindow(int(window / time.Second)),
		featurePSI: featurePSI,
		scorePSI:   scorePSI,
		requests: newChildCache(func(k requestKey) requestChild {
			return requestChild{
				count:    httpRequests.WithLabelValues(k.route, k.method, statusLabel(k.status)),
				duration: httpDuration.WithLabelValues(k.route, k.method),
			}
		}),
		// The outcomes are created up front so that rate() over them, and the fraud-rate
		// alert, see a zero rather than no series at all.
		predFraud:        predictions.WithLabelValues(OutcomeFraud),
		predLegit:        predictions.WithLabelValues(OutcomeLegit),
		predInvalid:      predictions.WithLabelValues(OutcomeInvalid),
		predError:        predictions.WithLabelValues(OutcomeError),
		probability:      probability,
		modelInfo:        modelInfo,
		rateLimited:      rateLimited,
		blocked:          newChildCache(func(reason string) prometheus.Counter { return blocked.WithLabelValues(reason) }),
		blockBypassed:    newChildCache(func(reason string) prometheus.Counter { return blockBypassed.WithLabelValues(reason) }),
		batchJobs:        batchJobs,
		batchRows:        batchRows,
		dependencyErrors: newChildCache(func(dep string) prometheus.Counter { return dependencyErrors.WithLabelValues(dep) }),
		breakerOpen:      breakerOpen,
		fallbacks:        newChildCache(func(dep string) prometheus.Counter { return fallbacks.WithLabelValues(dep) }),
		reloadSuccess:    reloads.WithLabelValues(ReloadSuccess),
		reloadFailure:    reloads.WithLabelValues(ReloadFailure),
		modelReloadedAt:  modelReloadedAt,
		keyReloadSuccess: keyReloads.WithLabelValues(ReloadSuccess),
		keyReloadFailure: keyReloads.WithLabelValues(ReloadFailure),
		keysReloadedAt:   keysReloadedAt,
	}
	return m, nil
}

// ObserveRequest counts one answered request. route must be a route pattern or "unmatched",
// never a raw path, so that the number of series stays bounded; methods other than the
// standard ones are counted as "OTHER".
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	c := m.requests.get(requestKey{route: route, method: methodLabel(method), status: status})
	c.count.Inc()
	c.duration.Observe(d.Seconds())
	m.window.record(m.now(), d)
}

// ObservePrediction counts one scored transaction with fraud probability p.
func (m *Metrics) ObservePrediction(p float64, isFraud bool) {
	if isFraud {
		m.predFraud.Inc()
	} else {
		m.predLegit.Inc()
	}
	m.probability.Observe(p)
}

// PredictionFailed counts one transaction that was not scored: outcome "invalid" for input
// that was rejected; anything else counts as "error".
func (m *Metrics) PredictionFailed(outcome string) {
	if outcome == OutcomeInvalid {
		m.predInvalid.Inc()
		return
	}
	m.predError.Inc()
}

// RateLimited counts one request refused by the rate limiter.
func (m *Metrics) RateLimited() { m.rateLimited.Inc() }

// SecurityBlocked counts one request refused by the security guard. reason must come from a
// small fixed set (a rule class, not a client-supplied value).
func (m *Metrics) SecurityBlocked(reason string) { m.blocked.get(reason).Inc() }

// SecurityBlockBypassed counts one request from a blocked address that was let through:
// reason is "probe" or "admin".
func (m *Metrics) SecurityBlockBypassed(reason string) { m.blockBypassed.get(reason).Inc() }

// DependencyError counts one failed check of dependency dep (the name of its health check,
// such as "store").
func (m *Metrics) DependencyError(dep string) { m.dependencyErrors.get(dep).Inc() }

// SetBreakerOpen records whether the circuit breaker around dependency dep lets calls
// through (closed) or not (open or half-open).
func (m *Metrics) SetBreakerOpen(dep string, open bool) {
	v := 0.0
	if open {
		v = 1
	}
	m.breakerOpen.WithLabelValues(dep).Set(v)
}

// Fallback counts one call answered without dependency dep, which is down.
func (m *Metrics) Fallback(dep string) { m.fallbacks.get(dep).Inc() }

// ModelReloaded counts one model reload, successful or not; a successful one also sets
// fraudguard_model_reload_last_success_timestamp_seconds to now.
func (m *Metrics) ModelReloaded(ok bool) {
	if ok {
		m.reloadSuccess.Inc()
		m.modelReloadedAt.Set(unixSeconds(m.now()))
		return
	}
	m.reloadFailure.Inc()
}

// KeysReloaded counts one reload of the API keys file, successful or not; a successful one also
// sets fraudguard_key_reload_last_success_timestamp_seconds to now.
func (m *Metrics) KeysReloaded(ok bool) {
	if ok {
		m.keyReloadSuccess.Inc()
		m.keysReloadedAt.Set(unixSeconds(m.now()))
		return
	}
	m.keyReloadFailure.Inc()
}

// LoadedAtStart sets both last-success times to now, without counting a reload: the model and
// keys loaded at start-up are the first in force. Call it once they are.
func (m *Metrics) LoadedAtStart() {
	t := unixSeconds(m.now())
	m.modelReloadedAt.Set(t)
	m.keysReloadedAt.Set(t)
}

// WatchAudit makes the fraudguard_audit_* counters (events dropped, failed and purged, purge
// failures) read a's counts on every scrape.
func (m *Metrics) WatchAudit(a AuditCounts) {
	if a == nil {
		m.audit.Store(nil)
		return
	}
	m.audit.Store(&a)
}

// WatchLog makes fraudguard_log_lines_dropped_total and fraudguard_log_write_failures_total
// read l's counts on every scrape.
func (m *Metrics) WatchLog(l LogCounts) {
	if l == nil {
		m.log.Store(nil)
		return
	}
	m.log.Store(&l)
}

// WatchDecisions makes the fraudguard_decisions_* counters read d's counts on every scrape.
func (m *Metrics) WatchDecisions(d DecisionCounts) {
	if d == nil {
		m.decisions.Store(nil)
		return
	}
	m.decisions.Store(&d)
}

// WatchWriterProcess makes fraudguard_decisions_writer_process_* read w on every scrape; nil
// (the log stored by the server itself) reads as zero.
func (m *Metrics) WatchWriterProcess(w WriterProcess) {
	if w == nil {
		m.writer.Store(nil)
		return
	}
	m.writer.Store(&w)
}

// SetDrift makes fraudguard_feature_psi and fraudguard_score_psi show the latest drift: one
// series per input with a PSI, and the score's when it has one. A nil PSI, or a nil r, removes
// the series, so that a figure that could not be measured is absent rather than 0.
func (m *Metrics) SetDrift(r *wire.DriftResponse) {
	m.driftMu.Lock()
	defer m.driftMu.Unlock()
	m.featurePSI.Reset()
	m.scorePSI.Reset()
	if r == nil {
		return
	}
	for _, f := range r.Features {
		if f.PSI != nil {
			m.featurePSI.WithLabelValues(f.Feature).Set(*f.PSI)
		}
	}
	if r.Score.PSI != nil {
		m.scorePSI.WithLabelValues().Set(*r.Score.PSI)
	}
}

// WatchTracing makes fraudguard_trace_export_failures_total read t's ExportFailures on every
// scrape; it stays 0 while tracing is off.
func (m *Metrics) WatchTracing(t *Tracing) { m.tracing.Store(t) }

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// SetModel makes fraudguard_model_info show the live model: the series of version and kind is
// 1 and the previous model's series is removed.
func (m *Metrics) SetModel(version, kind string) {
	m.modelMu.Lock()
	defer m.modelMu.Unlock()
	m.modelInfo.Reset()
	m.modelInfo.WithLabelValues(version, kind).Set(1)
}

// SetBatchJobs sets the number of batch jobs in status to n.
func (m *Metrics) SetBatchJobs(status string, n int) {
	m.batchJobs.WithLabelValues(status).Set(float64(n))
}

// AddBatchRows counts n rows scored by batch jobs.
func (m *Metrics) AddBatchRows(n int) {
	if n > 0 {
		m.batchRows.Add(float64(n))
	}
}

// Handler serves the metrics in the Prometheus exposition format, from MetricsOptions.Gatherer
// or else the registry given to NewMetrics. A collector that fails does not hide the others.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Summary is the JSON summary at now: totals since NewMetrics, and rates and latency
// percentiles over the sliding window. The percentiles are those of log-linear buckets, within
// 3.2% of the exact nearest-rank value. Requests per second divide by the window, or by the
// time since start while that is shorter (at least a second).
func (m *Metrics) Summary(now time.Time) wire.MetricsSummary {
	s := wire.MetricsSummary{
		WindowSeconds: int(m.window.seconds),
		UptimeSeconds: max(now.Sub(m.start).Seconds(), 0),
		Endpoints:     make(map[string]int64),
	}
	var mt dto.Metric
	for k, c := range m.requests.snapshot() {
		n := counterValue(c.count, &mt)
		if n == 0 {
			continue
		}
		s.TotalRequests += n
		if k.status >= 500 && k.status <= 599 {
			s.ErrorCount += n
		}
		s.Endpoints[k.method+" "+k.route] += n
	}
	s.TotalPredictions = counterValue(m.predFraud, &mt) + counterValue(m.predLegit, &mt)
	if s.TotalRequests > 0 {
		s.ErrorRate = float64(s.ErrorCount) / float64(s.TotalRequests)
	}

	st := m.window.stats(now)
	span := min(float64(m.window.seconds), max(s.UptimeSeconds, 1))
	s.RequestsPerSecond = float64(st.count) / span
	s.AverageResponseTimeMS = ms(st.mean)
	s.P50MS = ms(st.p50)
	s.P95MS = ms(st.p95)
	s.P99MS = ms(st.p99)
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// counterValue reads c through mt, which it overwrites.
func counterValue(c prometheus.Counter, mt *dto.Metric) int64 {
	mt.Reset()
	if err := c.Write(mt); err != nil || mt.Counter == nil {
		return 0
	}
	return int64(mt.Counter.GetValue())
}

// childCache resolves label values to a metric child without the vec's lock and label hashing:
// a copy-on-write map read through an atomic pointer, grown under a mutex on a miss. It suits
// label sets that are small and stop growing early, as bounded labels do.
type childCache[K comparable, V any] struct {
	m     atomic.Pointer[map[K]V]
	mu    sync.Mutex // serialises growth
	child func(K) V
}

func newChildCache[K comparable, V any](child func(K) V) *childCache[K, V] {
	c := &childCache[K, V]{child: child}
	c.m.Store(&map[K]V{})
	return c
}

// snapshot is every child so far; the caller must not modify it.
func (c *childCache[K, V]) snapshot() map[K]V { return *c.m.Load() }

// get returns the child of k, creating it on first use.
func (c *childCache[K, V]) get(k K) V {
	if v, ok := (*c.m.Load())[k]; ok {
		return v
	}
	return c.grow(k)
}

func (c *childCache[K, V]) grow(k K) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if v, ok := old[k]; ok {
		return v
	}
	v := c.child(k)
	next := make(map[K]V, len(old)+1)
	for ck, cv := range old {
		next[ck] = cv
	}
	next[k] = v
	c.m.Store(&next)
	return v
}

// methodLabel bounds the method label: a client can send any method name.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// statusLabel formats a status code, without allocating for the common ones.
func statusLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 202:
		return "202"
	case 204:
		return "204"
	case 301:
		return "301"
	case 302:
		return "302"
	case 304:
		return "304"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 405:
		return "405"
	case 408:
		return "408"
	case 409:
		return "409"
	case 413:
		return "413"
	case 415:
		return "415"
	case 422:
		return "422"
	case 429:
		return "429"
	case 500:
		return "500"
	case 502:
		return "502"
	case 503:
		return "503"
	case 504:
		return "504"
	}
	return strconv.Itoa(code)
}
