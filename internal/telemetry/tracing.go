package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName names the tracer that fraudguard's own spans come from.
const InstrumentationName = "github.com/fraudguard/fraudguard"

// defaultServiceName is the service.name resource attribute when TracingOptions leaves it empty.
const defaultServiceName = "fraudguard"

// TracingOptions configures NewTracing. Every field is optional; an empty Endpoint turns
// tracing off.
type TracingOptions struct {
	// Endpoint is the OTLP/HTTP base URL, as in OTEL_EXPORTER_OTLP_ENDPOINT
	// (http://127.0.0.1:4318). Spans are posted to its path followed by /v1/traces. An
	// http:// endpoint is sent in clear text and an https:// one over TLS. Empty turns
	// tracing off.
	Endpoint string
	// ServiceName is the service.name resource attribute; empty means "fraudguard".
	ServiceName string
	// ServiceVersion is the service.version resource attribute; empty leaves it out.
	ServiceVersion string
	// SampleRatio is the fraction of new traces (requests without a caller's traceparent)
	// that are recorded, in (0, 1]; 0 means 1. A request that carries a traceparent
	// follows the caller's sampled flag instead.
	SampleRatio float64
	// Headers are sent with every export, as in OTEL_EXPORTER_OTLP_HEADERS (typically an
	// authorization header for a hosted collector). ParseHeaders reads that format.
	Headers map[string]string
	// Logger receives failed exports. Nil discards them; Shutdown still reports a failed
	// final flush.
	Logger *slog.Logger
}

// Tracing holds the tracer provider, tracer and propagator that the server's spans use. A
// disabled Tracing (no endpoint) holds no provider: Enabled is false and Tracer is nil, so
// callers test Enabled once and skip all span work.
type Tracing struct {
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	exporter   *recordingExporter
}

// NewTracing builds the tracing set-up that opts describe. With an empty Endpoint it returns a
// disabled Tracing and starts nothing. Otherwise it starts a tracer provider with a batch span
// processor and an OTLP/HTTP protobuf exporter; nothing is sent until the first batch, so an
// unreachable collector does not fail start-up. Settings not covered by opts (export timeout,
// compression, batch sizes) keep the OpenTelemetry SDK defaults and its OTEL_* variables.
func NewTracing(ctx context.Context, opts TracingOptions) (*Tracing, error) {
	t := &Tracing{propagator: newPropagator()}
	if opts.Endpoint == "" {
		return t, nil
	}
	endpoint, err := tracesURL(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	ratio := opts.SampleRatio
	if ratio == 0 {
		ratio = 1
	}
	if math.IsNaN(ratio) || ratio <= 0 || ratio > 1 {
		return nil, fmt.Errorf("tracing sample ratio %v: want a fraction in (0, 1]", opts.SampleRatio)
	}
	name := opts.ServiceName
	if name == "" {
		name = defaultServiceName
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if opts.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(opts.ServiceVersion))
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	// Headers is always passed, even when nil, so that these options rather than the
	// environment decide what is sent; WithEndpointURL likewise sets the scheme, host and path.
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(endpoint),
		otlptracehttp.WithHeaders(opts.Headers),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing exporter %s: %w", endpoint, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t.exporter = &recordingExporter{
		SpanExporter: exp,
		logger:       logger.With(slog.String("component", "tracing"), slog.String("endpoint", endpoint)),
	}
	t.provider = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithBatcher(t.exporter),
	)
	t.tracer = t.provider.Tracer(InstrumentationName, trace.WithInstrumentationVersion(opts.ServiceVersion))
	return t, nil
}

// Enabled reports whether spans are recorded and exported. When it is false Tracer is nil.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// Tracer returns the tracer named InstrumentationName, or nil when tracing is off.
func (t *Tracing) Tracer() trace.Tracer {
	if !t.Enabled() {
		return nil
	}
	return t.tracer
}

// Propagator returns the W3C TraceContext and Baggage propagator. It is never nil and works
// whether or not tracing is on, so a traceparent can be read from a request and passed on to
// an outgoing call either way.
func (t *Tracing) Propagator() propagation.TextMapPropagator {
	if t == nil {
		return newPropagator()
	}
	return t.propagator
}

// ExportFailures counts the span batches that could not be delivered since NewTracing; it is
// 0 when tracing is off. It suits a counter that is read on scrape.
func (t *Tracing) ExportFailures() uint64 {
	if !t.Enabled() {
		return 0
	}
	return t.exporter.failures.Load()
}

// Shutdown ends spans' export: it exports what is still queued, then stops the batch
// processor and the exporter. It returns ctx's error if ctx ends first, or the last export
// error if the final flush failed. Spans ended afterwards are dropped. It does nothing when
// tracing is off, and later calls do nothing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	before := t.exporter.failures.Load()
	err := t.provider.Shutdown(ctx)
	if t.exporter.failures.Load() != before {
		err = errors.Join(err, fmt.Errorf("flush spans: %w", t.exporter.lastError()))
	}
	return err
}

// newPropagator reads and writes the traceparent, tracestate and baggage headers.
func newPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// recordingExporter logs and counts failed exports itself and reports success to the batch
// processor, which would otherwise hand the error to OpenTelemetry's process-wide error
// handler instead of the service's logger.
type recordingExporter struct {
	sdktrace.SpanExporter
	logger   *slog.Logger
	failures atomic.Uint64

	mu      sync.Mutex
	lastErr error
}

// ExportSpans exports spans and records a failure instead of returning it.
func (e *recordingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		return nil
	}
	e.mu.Lock()
	e.lastErr = err
	e.mu.Unlock()
	e.failures.Add(1)
	e.logger.LogAttrs(ctx, slog.LevelWarn, "span export failed", slog.Int("spans", len(spans)), slog.Any("err", err))
	return nil
}

func (e *recordingExporter) lastError() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastErr
}

// tracesURL turns an OTEL_EXPORTER_OTLP_ENDPOINT-style base URL into the URL that trace
// exports are posted to: the base path with /v1/traces appended.
func tracesURL(endpoint string) (string, error) {
	scheme, _, _ := strings.Cut(endpoint, ":")
	if scheme = strings.ToLower(scheme); scheme != "http" && scheme != "https" {
		// A bare host:port is the usual slip; url.Parse would report it obscurely.
		return "", errors.New("tracing endpoint: want an http:// or https:// URL")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the endpoint itself may hold a secret; do not echo it
		}
		return "", fmt.Errorf("tracing endpoint: %w", err)
	}
	switch {
	case u.Host == "":
		return "", fmt.Errorf("tracing endpoint %q: no host", u.Redacted())
	case u.User != nil:
		return "", fmt.Errorf("tracing endpoint %q: credentials belong in the export headers, not the URL", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("tracing endpoint %q: a query or fragment is not allowed", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	u.RawPath = ""
	return u.String(), nil
}

// ParseHeaders reads export headers in the OTEL_EXPORTER_OTLP_HEADERS format: comma-separated
// key=value pairs with percent-encoded values, as in "Authorization=Bearer%20abc,x-tenant=7".
// An empty string gives a nil map. Errors name the position, never a value, since values are
// usually secrets.
func ParseHeaders(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	headers := make(map[string]string)
	for i, pair := range strings.Split(s, ",") {
		key, value, ok := strings.Cut(pair, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("export header %d: want key=value", i+1)
		}
		v, err := url.PathUnescape(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("export header %q: bad percent-encoding in value", key)
		}
		headers[key] = v
	}
	return headers, nil
}

// TraceIDFromHeader returns the trace id of a W3C traceparent header value when it is a valid
// version-00 traceparent: "00-" 32 lowercase hex digits (not all zero) "-" 16 lowercase hex
// digits (not all zero) "-" 2 lowercase hex digits. The id is a substring of traceparent, so
// nothing is allocated. It lets logs and error bodies carry the caller's trace id when
// tracing is off.
func TraceIDFromHeader(traceparent string) (string, bool) {
	const (
		traceIDStart = 3
		spanIDStart  = traceIDStart + 32 + 1
		flagsStart   = spanIDStart + 16 + 1
		size         = flagsStart + 2
	)
	if len(traceparent) != size ||
		traceparent[0] != '0' || traceparent[1] != '0' || traceparent[2] != '-' ||
		traceparent[spanIDStart-1] != '-' || traceparent[flagsStart-1] != '-' {
		return "", false
	}
	traceID := traceparent[traceIDStart : spanIDStart-1]
	spanID := traceparent[spanIDStart : flagsStart-1]
	if !lowerHexNotZero(traceID) || !lowerHexNotZero(spanID) || !lowerHex(traceparent[flagsStart:]) {
		return "", false
	}
	return traceID, true
}

// lowerHexNotZero reports whether s is lowercase hex with at least one non-zero digit.
func lowerHexNotZero(s string) bool {
	return lowerHex(s) && strings.Trim(s, "0") != ""
}

// lowerHex reports whether s holds only the digits 0-9 and a-f.
func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
